// The registers the dump saved for each CPU, whatever note carried them: QEMU's CPU state
// (general registers, segments with their hidden parts, GDTR/IDTR, CR0–CR4) or NT_PRSTATUS
// (elf_prstatus.pr_reg: general registers and selectors). Analyzers read this, never the notes.

import KdigDump

/// One CPU's saved registers.
public struct CPUNoteRegisters: Sendable {
  public struct Segment: Sendable {
    public var name: String
    public var selector: UInt16
    public var base: UInt64?
    public var limit: UInt64?
  }

  /// "QEMU CPU state note" or "NT_PRSTATUS".
  public var source: String
  /// General registers in the note's order (rax…r15 for QEMU; pr_reg order for NT_PRSTATUS).
  public var general: [(name: String, value: UInt64)]
  public var rip: UInt64
  public var rsp: UInt64
  public var rbp: UInt64
  public var rflags: UInt64
  public var segments: [Segment]
  /// CR0…CR4 (QEMU only).
  public var controlRegisters: [UInt64]?
  public var gdtr: (base: UInt64, limit: UInt32)?
  public var idtr: (base: UInt64, limit: UInt32)?
  public var kernelGSBase: UInt64?
  /// pr_pid of NT_PRSTATUS: the pid current on the CPU (QEMU writes index + 1).
  public var pid: Int32?

  public func value(_ name: String) -> UInt64? { general.first { $0.name == name }?.value }
}

extension KernelImage {
  /// The registers of CPU `index` (the note order: QEMU writes one per vCPU in CPU order;
  /// kdump's crash_notes follow the CPU numbers), QEMU's note preferred.
  public func noteRegisters(cpu index: Int) -> CPUNoteRegisters? {
    let pid = index < notes.prstatus.count ? notes.prstatus[index].pid : nil
    if index < notes.qemuCPUs.count {
      let q = notes.qemuCPUs[index]
      let general = QEMUCPUState.generalRegisterNames.enumerated().compactMap { i, n in
        i < q.generalRegisters.count ? (n, q.generalRegisters[i]) : nil
      }
      let segs = [("cs", q.cs), ("ss", q.ss), ("ds", q.ds), ("es", q.es), ("fs", q.fs), ("gs", q.gs), ("ldtr", q.ldt), ("tr", q.tr)]
        .map { CPUNoteRegisters.Segment(name: $0.0, selector: UInt16(truncatingIfNeeded: $0.1.selector), base: $0.1.base, limit: UInt64($0.1.limit)) }
      return CPUNoteRegisters(
        source: "QEMU CPU state note", general: general, rip: q.rip, rsp: q.register("rsp") ?? 0,
        rbp: q.register("rbp") ?? 0, rflags: q.rflags, segments: segs, controlRegisters: q.cr,
        gdtr: (q.gdt.base, q.gdt.limit), idtr: (q.idt.base, q.idt.limit), kernelGSBase: q.kernelGSBase, pid: pid)
    }
    guard index < notes.prstatus.count else { return nil }
    let p = notes.prstatus[index]
    let selectors = ["cs", "ss", "ds", "es", "fs", "gs"]
    let general = PRStatus.registerNames.filter { !selectors.contains($0) }.map { ($0, p.register($0) ?? 0) }
    let segs = selectors.map { CPUNoteRegisters.Segment(name: $0, selector: UInt16(truncatingIfNeeded: p.register($0) ?? 0), base: nil, limit: nil) }
    return CPUNoteRegisters(
      source: "NT_PRSTATUS", general: general, rip: p.register("rip") ?? 0, rsp: p.register("rsp") ?? 0,
      rbp: p.register("rbp") ?? 0, rflags: p.register("rflags") ?? 0, segments: segs, controlRegisters: nil,
      gdtr: nil, idtr: nil, kernelGSBase: nil, pid: p.pid)
  }

  /// How many CPUs the dump has register notes for.
  public var noteCPUCount: Int { max(notes.qemuCPUs.count, notes.prstatus.count) }
}
