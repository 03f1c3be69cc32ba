// One 64-bit page-table entry and the bits the hardware defines (Intel SDM Vol. 3A §4.5,
// Tables 4-15 … 4-20; kernel names from arch/x86/include/asm/pgtable_types.h).

/// A raw page-table entry.
public struct PageTableEntry: Sendable, Hashable, Codable {
  public var raw: UInt64

  public init(_ raw: UInt64) { self.raw = raw }

  @inline(__always) public func bit(_ n: Int) -> Bool { raw & (1 << UInt64(n)) != 0 }

  /// _PAGE_BIT_PRESENT (0)
  public var present: Bool { bit(0) }
  /// _PAGE_BIT_RW (1)
  public var writable: Bool { bit(1) }
  /// _PAGE_BIT_USER (2)
  public var user: Bool { bit(2) }
  /// _PAGE_BIT_PWT (3)
  public var writeThrough: Bool { bit(3) }
  /// _PAGE_BIT_PCD (4)
  public var cacheDisabled: Bool { bit(4) }
  /// _PAGE_BIT_ACCESSED (5)
  public var accessed: Bool { bit(5) }
  /// _PAGE_BIT_DIRTY (6)
  public var dirty: Bool { bit(6) }
  /// _PAGE_BIT_PSE (7): a leaf at PMD/PUD level; the PAT bit in a PTE.
  public var pageSize: Bool { bit(7) }
  /// _PAGE_BIT_GLOBAL (8); _PAGE_BIT_PROTNONE when the entry is not present.
  public var global: Bool { bit(8) }
  /// _PAGE_BIT_NX (63)
  public var noExecute: Bool { bit(63) }
  /// Protection key (_PAGE_BIT_PKEY_BIT0…3, bits 59–62).
  public var protectionKey: Int { Int((raw >> 59) & 0xf) }

  /// The PAT bit of a leaf: bit 7 in a PTE, bit 12 (_PAGE_BIT_PAT_LARGE) in a 2M/1G entry.
  public func pat(leafLevel: PageTableLevel) -> Bool { leafLevel == .pte ? bit(7) : bit(12) }

  /// Flag names in crash's order (x86_64_translate_pte): PRESENT RW USER PWT PCD ACCESSED
  /// DIRTY PSE PROTNONE GLOBAL NX; PSE only when present, PROTNONE only when not.
  public var crashFlagNames: [String] {
    var names: [String] = []
    if present { names.append("PRESENT") }
    if writable { names.append("RW") }
    if user { names.append("USER") }
    if writeThrough { names.append("PWT") }
    if cacheDisabled { names.append("PCD") }
    if accessed { names.append("ACCESSED") }
    if dirty { names.append("DIRTY") }
    if pageSize && present { names.append("PSE") }
    if global && !present { names.append("PROTNONE") }
    if global { names.append("GLOBAL") }
    if noExecute { names.append("NX") }
    return names
  }
}
