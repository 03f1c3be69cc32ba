// An 8-byte code or data segment descriptor (Intel SDM Vol. 3A §3.4.5, Figure 3-8 "Segment
// Descriptor"; type bits from §3.4.5.1 Table 3-1 "Code- and Data-Segment Types").
// Kernel view: `struct desc_struct` in arch/x86/include/asm/desc_defs.h:
//
//   limit0 u16 @0 | base0 u16 @2 | base1:8 type:4 s:1 dpl:2 p:1 @4
//   limit1:4 avl:1 l:1 d:1 g:1 base2:8 @6
//
// In 64-bit mode the CPU ignores base and limit of CS/DS/ES/SS (SDM §3.2.4); Linux still
// fills them (GDT_ENTRY_INIT(…, 0, 0xfffff)) for compatibility mode and IRET checks.

import KdigBinary

/// The 4-bit type of a code or data descriptor (S = 1), SDM Table 3-1.
public struct CodeDataType: Sendable, Hashable, CustomStringConvertible {
  /// The raw 4 type bits (bits 11–8 of the second dword).
  public var raw: UInt8

  /// Wraps the 4 type bits (higher bits are dropped).
  public init(_ raw: UInt8) { self.raw = raw & 0xf }

  /// Bit 3: code (desc_defs.h _DESC_CODE_EXECUTABLE 0x0008) rather than data.
  public var isCode: Bool { raw & 0x8 != 0 }
  /// Bit 0: accessed (_DESC_ACCESSED 0x0001); set by the CPU on load, or preset by Linux.
  public var accessed: Bool { raw & 0x1 != 0 }
  /// Bit 1 of a data type: writable (_DESC_DATA_WRITABLE 0x0002).
  public var writable: Bool { !isCode && raw & 0x2 != 0 }
  /// Bit 1 of a code type: readable (_DESC_CODE_READABLE 0x0002).
  public var readable: Bool { isCode && raw & 0x2 != 0 }
  /// Bit 2 of a data type: expand-down (_DESC_DATA_EXPAND_DOWN 0x0004).
  public var expandDown: Bool { !isCode && raw & 0x4 != 0 }
  /// Bit 2 of a code type: conforming (_DESC_CODE_CONFORMING 0x0004).
  public var conforming: Bool { isCode && raw & 0x4 != 0 }

  /// The SDM Table 3-1 description, e.g. "Execute/Read, accessed" or "Read/Write".
  public var description: String {
    var text: String
    if isCode {
      text = readable ? "Execute/Read" : "Execute-Only"
      if conforming { text += ", conforming" }
    } else {
      text = writable ? "Read/Write" : "Read-Only"
      if expandDown { text += ", expand-down" }
    }
    if accessed { text += ", accessed" }
    return text
  }
}

/// What a code segment's L and D bits select (SDM §3.4.5 "L (64-bit code segment) flag").
public enum CodeSegmentMode: String, Sendable, Hashable {
  /// L = 1, D = 0: 64-bit code.
  case bits64 = "64-bit"
  /// L = 0, D = 1: 32-bit compatibility-mode code.
  case bits32 = "32-bit"
  /// L = 0, D = 0: 16-bit compatibility-mode code.
  case bits16 = "16-bit"
  /// L = 1, D = 1: "reserved for future use"; loading it raises #GP.
  case reserved
}

/// One 8-byte segment descriptor (SDM Figure 3-8; desc_defs.h `struct desc_struct`).
public struct SegmentDescriptor: Sendable, Hashable {
  /// The descriptor as a little-endian quadword, as the GDT holds it.
  public var raw: UInt64

  /// Size of a descriptor in bytes: `sizeof(struct desc_struct)`.
  public static let size = 8

  /// Wraps a raw descriptor quadword (e.g. 0x00af9b000000ffff for `__KERNEL_CS`).
  public init(_ raw: UInt64) { self.raw = raw }

  /// Decodes exactly 8 bytes; any other count is an error.
  public init(bytes: [UInt8]) throws(BinaryError) {
    try self.init(parsing: exactView(bytes, count: Self.size, "desc_struct"), at: 0)
  }

  /// Decodes the descriptor at `offset` of `view`.
  public init(parsing view: ByteView, at offset: Int) throws(BinaryError) {
    raw = try view.u64(offset, "desc_struct")
  }

  /// The 8 bytes in memory order.
  public func encode() -> [UInt8] { raw.littleEndianBytes }

  // MARK: - Fields (SDM Figure 3-8; desc_defs.h desc_struct)

  /// Base 31..0 from base0 (bytes 2–3), base1 (byte 4) and base2 (byte 7).
  public var base: UInt32 {
    UInt32(truncatingIfNeeded: raw[bits: 16..<40] | raw[bits: 56..<64] << 24)
  }
  /// The raw 20-bit limit: limit0 (bytes 0–1) and limit1 (bits 19–16 of the second dword).
  public var limit: UInt32 {
    UInt32(truncatingIfNeeded: raw[bits: 0..<16] | raw[bits: 48..<52] << 16)
  }
  /// The limit in bytes: `limit` when G = 0, `limit << 12 | 0xfff` when G = 1 (SDM §3.4.5).
  /// For an expand-down data segment this is the lowest offset *above* the invalid range.
  public var byteLimit: UInt32 { granularity ? limit << 12 | 0xfff : limit }
  /// The 4 type bits (desc_struct.type, bits 11–8 of the second dword).
  public var rawType: UInt8 { UInt8(truncatingIfNeeded: raw[bits: 40..<44]) }
  /// S, descriptor type (desc_struct.s, _DESC_S 0x0010): 1 = code/data, 0 = system.
  public var s: Bool { raw.bit(44) }
  /// True for a system descriptor (S = 0): TSS, LDT or gate; read those 16 bytes instead.
  public var isSystem: Bool { !s }
  /// The decoded code/data type, nil for a system descriptor (S = 0).
  public var codeDataType: CodeDataType? { s ? CodeDataType(rawType) : nil }
  /// Descriptor privilege level (desc_struct.dpl, _DESC_DPL(dpl) = dpl << 5).
  public var dpl: Int { Int(raw[bits: 45..<47]) }
  /// Segment present (desc_struct.p, _DESC_PRESENT 0x0080).
  public var present: Bool { raw.bit(47) }
  /// AVL, available to software (desc_struct.avl); Linux leaves it 0.
  public var available: Bool { raw.bit(52) }
  /// L, 64-bit code segment (desc_struct.l, _DESC_LONG_CODE 0x2000).
  public var long: Bool { raw.bit(53) }
  /// D/B, default operation size / big (desc_struct.d, _DESC_DB 0x4000).
  public var defaultBig: Bool { raw.bit(54) }
  /// G, granularity: limit in 4 KiB units (desc_struct.g, _DESC_GRANULARITY_4K 0x8000).
  public var granularity: Bool { raw.bit(55) }

  /// For a code segment, the mode its L and D bits select; nil for data and system.
  public var codeMode: CodeSegmentMode? {
    guard let type = codeDataType, type.isCode else { return nil }
    switch (long, defaultBig) {
    case (true, false): return .bits64
    case (false, true): return .bits32
    case (false, false): return .bits16
    case (true, true): return .reserved
    }
  }
}
