// CR3 as the hardware and Linux use it.

import KdigBinary

/// CR3 decoded (Intel SDM Vol. 3A §4.5, Table 4-13; PCID in bits 0–11 with CR4.PCIDE, bit 63
/// NOFLUSH on writes; Linux's PTI selects the user PGD with bit 12, X86_CR3_PTI_PCID_USER_BIT).
public struct CR3Fields: Sendable, Encodable, Hashable {
  public var value: Hex64
  public var pcid: Int
  public var ptiUser: Bool
  public var noFlush: Bool
  public var table: Hex64

  public init(_ value: UInt64) {
    self.value = Hex64(value)
    pcid = Int(value & 0xfff)
    ptiUser = value & (1 << 12) != 0
    noFlush = value & (1 << 63) != 0
    table = Hex64(value & 0x000f_ffff_ffff_f000)
  }
}

