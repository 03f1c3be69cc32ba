// One 64-bit page-table entry and the bits the hardware defines (Intel SDM Vol. 3A §4.5,
// Tables 4-15 … 4-20; kernel names from arch/x86/include/asm/pgtable_types.h).

/// A raw page-table entry.
public struct PageTableEntry: Sendable, Hashable, Codable {
  public var raw: UInt64

  public init(_ raw: UInt64) { self.raw = raw }

  /// _PAGE_BIT_PRESENT (0)
  public var present: Bool { raw & 1 != 0 }
  /// _PAGE_BIT_RW (1)
  public var writable: Bool { raw & (1 << 1) != 0 }
  /// _PAGE_BIT_USER (2)
  public var user: Bool { raw & (1 << 2) != 0 }
  /// _PAGE_BIT_PWT (3)
  public var writeThrough: Bool { raw & (1 << 3) != 0 }
  /// _PAGE_BIT_PCD (4)
  public var cacheDisabled: Bool { raw & (1 << 4) != 0 }
  /// _PAGE_BIT_ACCESSED (5)
  public var accessed: Bool { raw & (1 << 5) != 0 }
  /// _PAGE_BIT_DIRTY (6)
  public var dirty: Bool { raw & (1 << 6) != 0 }
  /// _PAGE_BIT_PSE (7): a leaf at PMD/PUD level; the PAT bit in a PTE.
  public var pageSize: Bool { raw & (1 << 7) != 0 }
  /// _PAGE_BIT_GLOBAL (8)
  public var global: Bool { raw & (1 << 8) != 0 }
  /// _PAGE_BIT_NX (63)
  public var noExecute: Bool { raw & (1 << 63) != 0 }

  /// Flag names in crash's order (x86_64_translate_pte): PRESENT RW USER PWT PCD ACCESSED
  /// DIRTY PSE GLOBAL NX; PSE only when present.
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
    if global { names.append("GLOBAL") }
    if noExecute { names.append("NX") }
    return names
  }
}
