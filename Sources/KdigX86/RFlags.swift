// RFLAGS (Intel SDM Vol. 1 §3.4.3, Figure 3-8 "EFLAGS Register"; Vol. 3A §2.3): the named
// status, control and system bits, as a pt_regs frame or a CPU note holds them.

/// Decoded RFLAGS.
public struct RFlags: Sendable, Hashable, CustomStringConvertible {
  public var raw: UInt64
  public init(_ raw: UInt64) { self.raw = raw }

  /// (bit, name) of every defined single-bit flag, low to high.
  public static let names: [(Int, String)] = [
    (0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"), (10, "DF"),
    (11, "OF"), (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"), (19, "VIF"), (20, "VIP"), (21, "ID"),
  ]

  /// I/O privilege level, bits 13–12.
  public var iopl: Int { Int((raw >> 12) & 3) }
  /// IF: maskable interrupts enabled.
  public var interruptsEnabled: Bool { raw & (1 << 9) != 0 }
  /// Bit 1 is always 1 and bits 22–63 and 3, 5, 15 are reserved 0.
  public var reservedBitsValid: Bool { raw & 0x2 != 0 && raw & ~0x3f_7fd7 == 0 }

  /// The names of the set flags, low to high.
  public var setFlags: [String] { Self.names.filter { raw & (1 << UInt64($0.0)) != 0 }.map(\.1) }

  /// "IF ZF PF" style, with IOPL when nonzero.
  public var description: String {
    var parts = setFlags
    if iopl != 0 { parts.append("IOPL=\(iopl)") }
    return parts.isEmpty ? "none" : parts.joined(separator: " ")
  }
}
