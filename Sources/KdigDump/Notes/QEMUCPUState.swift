// The "QEMU" note QEMU's dump-guest-memory writes per vCPU (target/i386/arch_dump.c,
// struct QEMUCPUState, QEMUCPUSTATE_VERSION 1): control registers, descriptor-table
// registers and segments that NT_PRSTATUS lacks.

import KdigBinary

/// One segment or descriptor-table register (QEMUCPUSegment, 24 bytes).
public struct QEMUSegment: Sendable, Codable, Equatable {
  public var selector: UInt32
  public var limit: UInt32
  /// QEMU's SegmentCache.flags (descriptor attribute bits).
  public var flags: UInt32
  public var base: UInt64

  init(parsing d: ByteView, at o: Int, _ name: String) throws(BinaryError) {
    selector = try d.u32(o, "\(name).selector")
    limit = try d.u32(o + 4, "\(name).limit")
    flags = try d.u32(o + 8, "\(name).flags")
    base = try d.u64(o + 16, "\(name).base")
  }
}

/// Decoded QEMUCPUState.
public struct QEMUCPUState: Sendable, Codable {
  /// Size of the fields every version has (through cr[4]).
  static let minimumSize = 432
  /// sizeof with the optional kernel_gs_base.
  static let sizeWithKernelGSBase = 440
  public static let generalRegisterNames = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
  ]

  public var version: UInt32
  public var size: UInt32
  /// rax … r15 in `generalRegisterNames` order.
  public var generalRegisters: [UInt64]
  public var rip: UInt64
  public var rflags: UInt64
  public var cs, ds, es, fs, gs, ss, ldt, tr: QEMUSegment
  /// GDTR and IDTR: only base and limit are meaningful.
  public var gdt, idt: QEMUSegment
  /// CR0 … CR4.
  public var cr: [UInt64]
  /// IA32_KERNEL_GS_BASE, when this QEMU wrote it.
  public var kernelGSBase: UInt64?

  public init(parsing d: ByteView) throws(BinaryError) {
    version = try d.u32(0, "QEMUCPUState.version")
    size = try d.u32(4, "QEMUCPUState.size")
    guard version == 1 else {
      throw BinaryError(
        file: d.file, offset: d.fileOffset, expected: "QEMUCPUState version 1", found: "\(version)")
    }
    guard Int(size) >= Self.minimumSize, Int(size) <= d.count else {
      throw BinaryError(
        file: d.file, offset: d.location(4),
        expected: "QEMUCPUState size between \(Self.minimumSize) and the note size \(d.count)",
        found: "\(size)")
    }
    var regs: [UInt64] = []
    for i in 0..<16 { regs.append(try d.u64(8 + 8 * i, "QEMUCPUState.\(Self.generalRegisterNames[i])")) }
    generalRegisters = regs
    rip = try d.u64(136, "QEMUCPUState.rip")
    rflags = try d.u64(144, "QEMUCPUState.rflags")
    cs = try QEMUSegment(parsing: d, at: 152, "cs")
    ds = try QEMUSegment(parsing: d, at: 176, "ds")
    es = try QEMUSegment(parsing: d, at: 200, "es")
    fs = try QEMUSegment(parsing: d, at: 224, "fs")
    gs = try QEMUSegment(parsing: d, at: 248, "gs")
    ss = try QEMUSegment(parsing: d, at: 272, "ss")
    ldt = try QEMUSegment(parsing: d, at: 296, "ldt")
    tr = try QEMUSegment(parsing: d, at: 320, "tr")
    gdt = try QEMUSegment(parsing: d, at: 344, "gdt")
    idt = try QEMUSegment(parsing: d, at: 368, "idt")
    var crs: [UInt64] = []
    for i in 0..<5 { crs.append(try d.u64(392 + 8 * i, "QEMUCPUState.cr[\(i)]")) }
    cr = crs
    kernelGSBase = Int(size) >= Self.sizeWithKernelGSBase ? try d.u64(432, "kernel_gs_base") : nil
  }

  public var cr3: UInt64 { cr[3] }
  public var cr4: UInt64 { cr[4] }
  /// CR4.LA57 (bit 12): the CPU runs 5-level paging.
  public var la57: Bool { cr[4] & (1 << 12) != 0 }
  /// The value of general register `name`.
  public func register(_ name: String) -> UInt64? {
    Self.generalRegisterNames.firstIndex(of: name).map { generalRegisters[$0] }
  }
}
