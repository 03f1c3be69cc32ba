// A 16-byte long-mode IDT gate (Intel SDM Vol. 3A §6.14.1, Figure 6-8 "64-Bit IDT Gate
// Descriptors"; system types from Table 3-2 "System-Segment and Gate-Descriptor Types").
// Kernel view: `struct gate_struct` / `struct idt_bits` in arch/x86/include/asm/desc_defs.h:
//
//   offset_low u16 @0 | segment u16 @2 | idt_bits u16 @4 | offset_middle u16 @6
//   offset_high u32 @8 | reserved u32 @12
//   idt_bits = { ist:3, zero:5, type:5, dpl:2, p:1 }
//
// NOTE: the kernel's 5-bit `type` is the SDM's 4-bit type plus the S bit (bit 12 of the
// second dword, bit 44 of `low`), which must be 0 for a system descriptor such as a gate.

import KdigBinary

/// The 4-bit type of a gate (SDM Table 3-2, IA-32e column; desc_defs.h `GATE_*`).
public enum GateType: Sendable, Hashable, CustomStringConvertible {
  /// 0xE "64-bit Interrupt Gate" (GATE_INTERRUPT): clears IF on entry.
  case interrupt
  /// 0xF "64-bit Trap Gate" (GATE_TRAP): leaves IF unchanged.
  case trap
  /// 0xC "64-bit Call Gate" (GATE_CALL): GDT/LDT only, never valid in the IDT.
  case call
  /// 0x5 "Task Gate" (GATE_TASK): reserved in IA-32e mode; no task switching in 64-bit mode.
  case task
  /// Any other 4-bit value: reserved (or a TSS/LDT type, never valid in a gate).
  case reserved(UInt8)

  /// Decodes the 4-bit type field (bits 11–8 of the second dword).
  public init(rawType: UInt8) {
    switch rawType & 0xf {
    case 0xE: self = .interrupt
    case 0xF: self = .trap
    case 0xC: self = .call
    case 0x5: self = .task
    case let other: self = .reserved(other)
    }
  }

  /// The 4-bit type value (desc_defs.h enum: GATE_INTERRUPT 0xE, GATE_TRAP 0xF, …).
  public var rawValue: UInt8 {
    switch self {
    case .interrupt: 0xE
    case .trap: 0xF
    case .call: 0xC
    case .task: 0x5
    case .reserved(let value): value & 0xf
    }
  }

  /// The kernel's enumerator name (desc_defs.h), nil for reserved values.
  public var kernelName: String? {
    switch self {
    case .interrupt: "GATE_INTERRUPT"
    case .trap: "GATE_TRAP"
    case .call: "GATE_CALL"
    case .task: "GATE_TASK"
    case .reserved: nil
    }
  }

  /// The SDM Table 3-2 (IA-32e mode) name.
  public var description: String {
    switch self {
    case .interrupt: "64-bit Interrupt Gate"
    case .trap: "64-bit Trap Gate"
    case .call: "64-bit Call Gate"
    case .task: "Task Gate (reserved in IA-32e mode)"
    case .reserved(let value): "Reserved (0x\(String(value & 0xf, radix: 16)))"
    }
  }

  /// True for the only two types a 64-bit IDT may hold (SDM §6.14.1).
  public var isValidInIDT: Bool { self == .interrupt || self == .trap }
}

/// One 16-byte long-mode IDT gate (SDM Figure 6-8; desc_defs.h `struct gate_struct`).
public struct GateDescriptor: Sendable, Hashable {
  /// Bytes 0–7 as a little-endian quadword (offset_low, segment, idt_bits, offset_middle).
  public var low: UInt64
  /// Bytes 8–15 as a little-endian quadword (offset_high, reserved).
  public var high: UInt64

  /// Size of a gate in bytes: `sizeof(gate_desc)` with CONFIG_X86_64.
  public static let size = 16

  /// A gate from its two raw quadwords, as `idt_table[i]` holds them.
  public init(low: UInt64, high: UInt64) {
    self.low = low
    self.high = high
  }

  /// Decodes exactly 16 bytes; any other count is an error.
  public init(bytes: [UInt8]) throws(BinaryError) {
    try self.init(parsing: exactView(bytes, count: Self.size, "gate_struct"), at: 0)
  }

  /// Decodes the gate at `offset` of `view`.
  public init(parsing view: ByteView, at offset: Int) throws(BinaryError) {
    let record = try view.slice(offset, Self.size, "gate_struct")
    low = try record.u64(0, "gate_struct offset_low/segment/bits/offset_middle")
    high = try record.u64(8, "gate_struct offset_high/reserved")
  }

  /// Builds a gate the way the kernel's `idt_init_desc` does (arch/x86/kernel/idt.c);
  /// `ist` is the stored value (IST index + 1, 0 for none).
  public init(
    handler: UInt64, selector: SegmentSelector, ist: Int = 0, type: GateType,
    dpl: Int = 0, present: Bool = true
  ) {
    var low = handler[bits: 0..<16]  // offset_low
    low |= UInt64(selector.raw) << 16  // segment
    low |= UInt64(ist & 0x7) << 32  // idt_bits.ist
    low |= UInt64(type.rawValue) << 40  // idt_bits.type (S = 0)
    low |= UInt64(dpl & 0x3) << 45  // idt_bits.dpl
    low |= present ? 1 << 47 : 0  // idt_bits.p
    low |= handler[bits: 16..<32] << 48  // offset_middle
    self.init(low: low, high: handler[bits: 32..<64])  // offset_high, reserved = 0
  }

  /// The 16 bytes in memory order.
  public func encode() -> [UInt8] { low.littleEndianBytes + high.littleEndianBytes }

  // MARK: - Fields (SDM Figure 6-8; desc_defs.h gate_struct / idt_bits)

  /// Handler offset 63..0: `gate_offset()` = offset_low | offset_middle << 16 | offset_high << 32.
  public var handler: UInt64 {
    low[bits: 0..<16] | low[bits: 48..<64] << 16 | high[bits: 0..<32] << 32
  }
  /// Code-segment selector for the handler (`gate_struct.segment`, bytes 2–3).
  public var selector: SegmentSelector {
    SegmentSelector(UInt16(truncatingIfNeeded: low[bits: 16..<32]))
  }
  /// Interrupt Stack Table slot: 0 = none, n = 1…7 uses `tss.ist[n-1]` (`idt_bits.ist`, byte 4
  /// bits 2–0).
  public var ist: Int { Int(low[bits: 32..<35]) }
  /// The 4-bit SDM type (bits 11–8 of the second dword).
  public var rawType: UInt8 { UInt8(truncatingIfNeeded: low[bits: 40..<44]) }
  /// The decoded gate type.
  public var type: GateType { GateType(rawType: rawType) }
  /// The S bit (bit 12 of the second dword; the top bit of the kernel's 5-bit `type`): must be 0.
  public var systemBit: Bool { low.bit(44) }
  /// Descriptor privilege level (`idt_bits.dpl`): the lowest CPL allowed to use INT n on it.
  public var dpl: Int { Int(low[bits: 45..<47]) }
  /// Segment-present flag (`idt_bits.p`); a not-present gate raises #NP when used.
  public var present: Bool { low.bit(47) }
  /// `idt_bits.zero` (bits 7–3 of byte 4) and `gate_struct.reserved` (bytes 12–15) are all 0.
  public var reservedBitsClear: Bool { low[bits: 35..<40] == 0 && high[bits: 32..<64] == 0 }
  /// True when the gate is a well-formed 64-bit IDT entry: interrupt or trap type, S = 0,
  /// reserved bits clear (presence is separate: not-present gates are well formed).
  public var isWellFormedIDTGate: Bool { type.isValidInIDT && !systemBit && reservedBitsClear }
}
