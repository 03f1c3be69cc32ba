// A 16-byte TSS or LDT descriptor in IA-32e mode (Intel SDM Vol. 3A §7.2.3, Figure 7-4
// "Format of TSS and LDT Descriptors in 64-bit Mode"; §3.5.2; types from Table 3-2).
// Kernel view: `struct ldttss_desc` in arch/x86/include/asm/desc_defs.h:
//
//   limit0 u16 @0 | base0 u16 @2 | base1:8 type:5 dpl:2 p:1 @4
//   limit1:4 zero0:3 g:1 base2:8 @6 | base3 u32 @8 | zero1 u32 @12
//
// NOTE: as in `idt_bits`, the kernel's 5-bit `type` includes the S bit, which must be 0.
// `zero0` covers AVL, L and D/B; the SDM shows AVL there, the kernel always writes 0.

import KdigBinary

/// The type of a system segment in IA-32e mode (SDM Table 3-2; desc_defs.h DESC_TSS/DESC_LDT).
public enum SystemSegmentType: Sendable, Hashable, CustomStringConvertible {
  /// 0x2 "LDT" (DESC_LDT).
  case ldt
  /// 0x9 "64-bit TSS (Available)" (DESC_TSS, as `set_tssldt_descriptor` writes it).
  case availableTSS
  /// 0xB "64-bit TSS (Busy)": the CPU sets bit 1 of the type on LTR.
  case busyTSS
  /// Any other value: a gate type or reserved, never a valid TSS/LDT descriptor.
  case other(UInt8)

  /// Decodes the 4-bit type field.
  public init(rawType: UInt8) {
    switch rawType & 0xf {
    case 0x2: self = .ldt
    case 0x9: self = .availableTSS
    case 0xB: self = .busyTSS
    case let value: self = .other(value)
    }
  }

  /// The 4-bit type value.
  public var rawValue: UInt8 {
    switch self {
    case .ldt: 0x2
    case .availableTSS: 0x9
    case .busyTSS: 0xB
    case .other(let value): value & 0xf
    }
  }

  /// The SDM Table 3-2 (IA-32e mode) name.
  public var description: String {
    switch self {
    case .ldt: "LDT"
    case .availableTSS: "64-bit TSS (Available)"
    case .busyTSS: "64-bit TSS (Busy)"
    case .other(let value): "not a TSS/LDT type (0x\(String(value & 0xf, radix: 16)))"
    }
  }

  /// True for an available or busy 64-bit TSS.
  public var isTSS: Bool { self == .availableTSS || self == .busyTSS }
  /// True for any type this 16-byte format describes: LDT, available or busy TSS.
  public var isTSSOrLDT: Bool { isTSS || self == .ldt }
}

/// One 16-byte TSS/LDT descriptor (SDM Figure 7-4; desc_defs.h `struct ldttss_desc`).
public struct SystemSegmentDescriptor: Sendable, Hashable {
  /// Bytes 0–7 as a little-endian quadword (the legacy 8-byte descriptor part).
  public var low: UInt64
  /// Bytes 8–15 as a little-endian quadword (base3, zero1).
  public var high: UInt64

  /// Size in bytes: `sizeof(struct ldttss_desc)` with CONFIG_X86_64 (two GDT slots).
  public static let size = 16

  /// A descriptor from its two raw quadwords (GDT slots n and n+1).
  public init(low: UInt64, high: UInt64) {
    self.low = low
    self.high = high
  }

  /// Decodes exactly 16 bytes; any other count is an error.
  public init(bytes: [UInt8]) throws(BinaryError) {
    try self.init(parsing: exactView(bytes, count: Self.size, "ldttss_desc"), at: 0)
  }

  /// Decodes the descriptor at `offset` of `view`.
  public init(parsing view: ByteView, at offset: Int) throws(BinaryError) {
    let record = try view.slice(offset, Self.size, "ldttss_desc")
    low = try record.u64(0, "ldttss_desc limit0/base0/base1/type/limit1/base2")
    high = try record.u64(8, "ldttss_desc base3/zero1")
  }

  /// The 16 bytes in memory order.
  public func encode() -> [UInt8] { low.littleEndianBytes + high.littleEndianBytes }

  // MARK: - Fields (SDM Figure 7-4; desc_defs.h ldttss_desc)

  /// Base 63..0: base0 (bytes 2–3), base1 (byte 4), base2 (byte 7), base3 (bytes 8–11).
  public var base: UInt64 {
    low[bits: 16..<40] | low[bits: 56..<64] << 24 | high[bits: 0..<32] << 32
  }
  /// The raw 20-bit limit: limit0 (bytes 0–1) and limit1 (bits 19–16 of the second dword).
  public var limit: UInt32 {
    UInt32(truncatingIfNeeded: low[bits: 0..<16] | low[bits: 48..<52] << 16)
  }
  /// The limit in bytes: `limit` when G = 0, `limit << 12 | 0xfff` when G = 1.
  public var byteLimit: UInt32 { granularity ? limit << 12 | 0xfff : limit }
  /// The 4 type bits (bits 11–8 of the second dword).
  public var rawType: UInt8 { UInt8(truncatingIfNeeded: low[bits: 40..<44]) }
  /// The decoded type.
  public var type: SystemSegmentType { SystemSegmentType(rawType: rawType) }
  /// The S bit (bit 12 of the second dword, top bit of the kernel's 5-bit type): must be 0.
  public var systemBit: Bool { low.bit(44) }
  /// Descriptor privilege level (ldttss_desc.dpl).
  public var dpl: Int { Int(low[bits: 45..<47]) }
  /// Segment present (ldttss_desc.p).
  public var present: Bool { low.bit(47) }
  /// AVL (bit 20 of the second dword; part of the kernel's zero0).
  public var available: Bool { low.bit(52) }
  /// G, granularity (ldttss_desc.g).
  public var granularity: Bool { low.bit(55) }

  /// Bits 12–8 of the fourth dword are 0 (SDM Figure 7-4): where a legacy descriptor keeps
  /// its type, so the upper half reads as type 0 "Upper 8 byte of a 16-byte descriptor".
  public var upperTypeBitsClear: Bool { high[bits: 40..<45] == 0 }
  /// Every bit the kernel writes as zero is 0: zero0 (L, D/B; AVL is allowed by the SDM and
  /// checked separately) and the whole zero1 dword, which includes `upperTypeBitsClear`.
  public var reservedBitsClear: Bool { low[bits: 53..<55] == 0 && high[bits: 32..<64] == 0 }
  /// A well-formed TSS or LDT descriptor: TSS/LDT type, S = 0, reserved bits clear.
  public var isWellFormed: Bool {
    type.isTSSOrLDT && !systemBit && upperTypeBitsClear && reservedBitsClear
  }
}
