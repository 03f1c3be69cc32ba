// `kdig regs`: every register of each CPU in the dump, from its NT_PRSTATUS note (what
// crash_save_cpu stored at the crash; on kdump the panicking CPU's comes from
// crash_setup_regs, the others' from the NMI that stopped them) or QEMU's CPU state note
// (which adds segments, descriptor tables and control registers), explained: RIP and RSP
// symbolized and placed, control-register bits named, selectors decoded against the CPU's GDT.

import KdigBinary
import KdigKernel
import KdigX86

/// One CPU's registers.
public struct CPURegisters: Sendable, Encodable {
  public var cpu: Int
  public var source: String
  /// rax … r15, rip, rflags, orig_rax where known, in crash's order.
  public var general: [RegisterValue]
  public var ripSymbol: String?
  public var rspStack: String?
  public var rflags: String
  public var segments: [SegmentValue]
  public var control: [RegisterValue]
  /// pr_pid of NT_PRSTATUS: the task current on the CPU at the crash.
  public var pid: Int32?
  public var notes: [String]
}

public struct RegisterValue: Sendable, Encodable {
  public var name: String
  public var value: Hex64
  public var meaning: String?
}

public struct SegmentValue: Sendable, Encodable {
  public var name: String
  public var selector: String
  public var base: Hex64?
  public var limit: Hex64?
  /// The GDT descriptor the selector names, decoded.
  public var descriptor: String?
}

extension KernelImage {
  /// Registers of every CPU the dump has notes for (or of `cpu`).
  public func cpuRegisters(cpu: Int? = nil) throws -> [CPURegisters] {
    let count = noteCPUCount
    guard count > 0 else {
      throw PerCPUError("the dump has no CPU register notes (no NT_PRSTATUS, no QEMU CPU state)", .notInDump)
    }
    let stacks = try? stackMap()
    let cpus = try? perCPUSet()
    let chosen = cpu.map { [$0] } ?? Array(0..<count)
    return try chosen.map { c in
      guard c >= 0, c < count else {
        throw PerCPUError("CPU \(c): the dump has register notes for CPUs 0-\(count - 1)", .usage)
      }
      return registers(of: c, stacks: stacks, cpus: cpus)
    }
  }

  func registers(of cpu: Int, stacks: StackMap?, cpus: PerCPUSet?) -> CPURegisters {
    guard let r = noteRegisters(cpu: cpu) else {
      return CPURegisters(cpu: cpu, source: "none", general: [], ripSymbol: nil, rspStack: nil, rflags: "", segments: [], control: [], pid: nil, notes: ["no register note"])
    }
    let gdt = cpus.flatMap { set in
      (try? ceaLayout()).flatMap { l in
        (try? cpuEntryArea(cpu: cpu, layout: l, cpus: set, intel: false, walkPages: false)).flatMap { try? cpuGDT(area: $0, cpus: set) }
      }
    }
    let general = r.general.map { RegisterValue(name: $0.name, value: Hex64($0.value), meaning: nil) }
      + (r.general.contains { $0.name == "rip" } ? [] : [RegisterValue(name: "rip", value: Hex64(r.rip), meaning: nil)])
      + (r.general.contains { $0.name == "rflags" } ? [] : [RegisterValue(name: "rflags", value: Hex64(r.rflags), meaning: nil)])
    let segments = r.segments.map { segmentValue($0.name, $0.selector, base: $0.base, limit: $0.limit, gdt: gdt) }
    var control: [RegisterValue] = []
    var remarks: [String] = []
    if let cr = r.controlRegisters, cr.count >= 5 {
      control.append(RegisterValue(name: "cr0", value: Hex64(cr[0]), meaning: ControlRegisterBits.names(cr[0], ControlRegisterBits.cr0).joined(separator: " ")))
      control.append(RegisterValue(name: "cr2", value: Hex64(cr[2]), meaning: "last page-fault address"))
      let cr3 = Self.decodeCR3(cr[3], pcide: cr[4] & (1 << 17) != 0)
      control.append(RegisterValue(name: "cr3", value: Hex64(cr[3]), meaning: "PGD \(cr3.fields.table), PCID \(cr3.fields.pcid)\(cr3.userPCID ? " (user PCID)" : ""), \(cr3.pgd)"))
      control.append(RegisterValue(name: "cr4", value: Hex64(cr[4]), meaning: ControlRegisterBits.names(cr[4], ControlRegisterBits.cr4).joined(separator: " ")))
      remarks.append("EFER is not in QEMU's CPU note")
    } else {
      remarks.append("\(r.source) has no control registers")
    }
    if let g = r.gdtr { control.append(RegisterValue(name: "gdtr", value: Hex64(g.base), meaning: "limit \(hex0x(UInt64(g.limit)))")) }
    if let i = r.idtr { control.append(RegisterValue(name: "idtr", value: Hex64(i.base), meaning: "limit \(hex0x(UInt64(i.limit)))")) }
    if let k = r.kernelGSBase { control.append(RegisterValue(name: "kernel_gs_base", value: Hex64(k), meaning: nil)) }
    let ownStack = cpus.flatMap { currentTask(cpu: cpu, cpus: $0) }.flatMap { t in stacks.flatMap { taskStack(t, threadSize: $0.threadSize) } }
    let placed = stacks?.stack(containing: r.rsp, task: ownStack)
    return CPURegisters(
      cpu: cpu, source: r.source, general: general, ripSymbol: symbolName(r.rip),
      rspStack: placed.map { "\($0.crashLabel)\($0.cpu.map { " of CPU \($0)" } ?? "") [\(hex0x($0.base.value))-\(hex0x($0.top.value))]" }
        ?? (r.rsp < 0x8000_0000_0000_0000 ? "user stack" : nil),
      rflags: RFlags(r.rflags).description, segments: segments, control: control, pid: r.pid, notes: remarks)
  }

  func segmentValue(_ name: String, _ selector: UInt16, base: UInt64?, limit: UInt64?, gdt: CPUGDT?) -> SegmentValue {
    let s = SegmentSelector(selector)
    var descriptor: String?
    if !s.isNull, s.table == .gdt, let e = gdt?.entries.first(where: { $0.index == s.index }) {
      descriptor = "\(e.name ?? "slot \(e.index)"): \(e.kind) \(e.type ?? ""), DPL \(e.dpl)"
    }
    return SegmentValue(name: name, selector: s.description, base: base.map(Hex64.init), limit: limit.map(Hex64.init), descriptor: descriptor)
  }
}
