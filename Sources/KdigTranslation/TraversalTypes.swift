// What a page-table traversal reports: each visited entry, why an entry that points at a
// table was not followed (a loop, a table above the physical limit, a table already walked),
// the summary that stands in for a table walked before, and how the traversal ended.

import KdigBinary
import KdigMemory

/// One visited entry.
public struct VisitedEntry: Sendable {
  /// First virtual address the entry covers.
  public var address: UInt64
  /// One past the last address it covers (wraps to 0 at the top of the address space).
  public var end: UInt64
  public var level: PageTableLevel
  public var entry: PageTableEntry
  /// Effective flags of the path: _PAGE_RW|_PAGE_USER|_PAGE_NX as the kernel's effective_prot.
  public var effective: UInt64
  /// The table could not be read (the entry points at a page missing from the dump).
  public var unreadable: MemoryError?
  /// The entry points at a table that was not walked, and why.
  public var notDescended: NotDescended?

  public init(
    address: UInt64, end: UInt64, level: PageTableLevel, entry: PageTableEntry, effective: UInt64,
    unreadable: MemoryError? = nil, notDescended: NotDescended? = nil
  ) {
    self.address = address
    self.end = end
    self.level = level
    self.entry = entry
    self.effective = effective
    self.unreadable = unreadable
    self.notDescended = notDescended
  }

  /// A present entry that maps memory itself (PTE, or a PSE entry at PMD/PUD level).
  public var isLeaf: Bool {
    entry.present && notDescended == nil && (level == .pte || (entry.pageSize && level.leafSize != nil))
  }
}

/// Why a present table entry was not followed.
public enum NotDescended: Sendable, CustomStringConvertible {
  /// It points back at a table on the current path.
  case loop(table: UInt64)
  /// It points above the machine's physical address limit.
  case beyondLimit(table: UInt64, bits: Int)
  /// It points at a table this traversal already walked (with the same inherited rights):
  /// the summary of that walk stands in for it.
  case repeated(TableSummary)

  public var description: String {
    switch self {
    case .loop(let t): return "page-table loop: points back at the table at physical 0x\(hex(t)) on its own path"
    case .beyondLimit(let t, let bits):
      return "points at a table at physical 0x\(hex(t)), beyond the \(bits)-bit physical address limit"
    case .repeated(let s): return s.description
    }
  }
}

/// What the walk of one table found, kept so a table reached again is not walked again.
public struct TableSummary: Sendable, CustomStringConvertible {
  /// Physical address of the table.
  public var table: UInt64
  /// Level of the table's entries.
  public var level: PageTableLevel
  /// The virtual address of the table's first entry where it was walked.
  public var firstAddress: UInt64
  /// Present leaf entries below it, repeats included (saturating).
  public var leaves: UInt64 = 0
  /// Bytes those leaves map (saturating).
  public var mappedBytes: UInt64 = 0
  /// Leaves whose effective rights are writable and executable (saturating).
  public var writableExecutableLeaves: UInt64 = 0
  /// Why the table itself could not be read, when it could not.
  public var unreadable: String?

  public init(table: UInt64, level: PageTableLevel, firstAddress: UInt64) {
    self.table = table
    self.level = level
    self.firstAddress = firstAddress
  }

  /// Adds what a sub-table (or a repeat of one) holds.
  mutating func absorb(_ other: TableSummary) {
    leaves = leaves.saturatingAdd(other.leaves)
    mappedBytes = mappedBytes.saturatingAdd(other.mappedBytes)
    writableExecutableLeaves = writableExecutableLeaves.saturatingAdd(other.writableExecutableLeaves)
  }

  public var description: String {
    let head = "same \(level.name) table (physical 0x\(hex(table))) as at 0x\(hex(firstAddress)), not walked again: "
    if let unreadable { return head + "unreadable (\(unreadable))" }
    return head + "\(leaves) leaves mapping 0x\(hex(mappedBytes)) bytes, \(writableExecutableLeaves) W+X"
  }
}

/// How a traversal ended.
public struct TraversalOutcome: Sendable {
  /// Entries visited (each reported or descended into once).
  public var entriesVisited: Int = 0
  /// The cap on entries this traversal had.
  public var entryLimit: Int
  /// Entries that pointed at a table already walked and were summarized instead.
  public var repeatedTables: Int = 0
  /// Set when the traversal stopped before the end of its range: the first address not visited.
  public var stoppedAt: UInt64?
  /// True when the entry cap (not the caller) stopped it.
  public var limitReached = false

  public init(entryLimit: Int) { self.entryLimit = entryLimit }
}
