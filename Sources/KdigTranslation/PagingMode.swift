// x86-64 paging modes as data: which levels a walk visits, the address bits each level
// indexes, and where leaves may appear (Intel SDM Vol. 3A §4.5, "4-Level Paging and 5-Level
// Paging"; kernel names from arch/x86/include/asm/pgtable_types.h).

/// One level of the page-table hierarchy, named as the Linux kernel names it.
public enum PageTableLevel: Int, Sendable, Codable, CaseIterable, Comparable {
  case pte = 1
  case pmd = 2
  case pud = 3
  case p4d = 4
  case pgd = 5

  /// Lowest virtual-address bit this level indexes (12, 21, 30, 39, 48 for PGD in 5-level).
  public func shift(in mode: PagingMode) -> Int {
    switch self {
    case .pte: return 12
    case .pmd: return 21
    case .pud: return 30
    case .p4d: return 39
    case .pgd: return mode == .fiveLevel ? 48 : 39
    }
  }

  /// Bytes mapped by a leaf entry at this level (4 KiB, 2 MiB, 1 GiB), if leaves exist here.
  public var leafSize: UInt64? {
    switch self {
    case .pte: return 1 << 12
    case .pmd: return 1 << 21
    case .pud: return 1 << 30
    case .p4d, .pgd: return nil
    }
  }

  /// Upper-case name as crash prints it (`PGD`, `P4D`, `PUD`, `PMD`, `PTE`).
  public var name: String {
    switch self {
    case .pte: return "PTE"
    case .pmd: return "PMD"
    case .pud: return "PUD"
    case .p4d: return "P4D"
    case .pgd: return "PGD"
    }
  }

  public static func < (a: PageTableLevel, b: PageTableLevel) -> Bool { a.rawValue < b.rawValue }
}

/// 4-level (48-bit) or 5-level (57-bit, CR4.LA57) paging.
public enum PagingMode: Int, Sendable, Codable, CaseIterable {
  case fourLevel = 4
  case fiveLevel = 5

  /// Levels from the root down. 4-level has no P4D (the kernel folds it into the PGD).
  public var levels: [PageTableLevel] {
    self == .fiveLevel ? [.pgd, .p4d, .pud, .pmd, .pte] : [.pgd, .pud, .pmd, .pte]
  }

  /// Number of implemented virtual-address bits (48 or 57).
  public var virtualAddressBits: Int { self == .fiveLevel ? 57 : 48 }

  /// True when bits 63…(n-1) are all equal (SDM Vol. 1 §3.3.7.1, canonical addressing).
  public func isCanonical(_ address: UInt64) -> Bool {
    let top = Int64(bitPattern: address) >> (virtualAddressBits - 1)
    return top == 0 || top == -1
  }
}
