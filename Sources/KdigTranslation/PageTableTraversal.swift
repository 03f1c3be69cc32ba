// Visits every entry of a page-table tree over an address range, the way the kernel's
// generic ptdump walker does (mm/ptdump.c, arch/x86/mm/dump_pagetables.c): each leaf, each
// non-present entry and each empty slot is reported once with its level and the effective
// permissions of the path (RW/USER ANDed, NX ORed). Bounded: at most one visit per entry of
// each table, tables already on the path are not re-entered, unreadable tables are reported.

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
}

/// Walks page tables over virtual ranges.
public struct PageTableTraversal {
  public let walker: PageTableWalker
  public let root: UInt64

  public init(walker: PageTableWalker, root: UInt64) {
    self.walker = walker
    self.root = root
  }

  static let rwUserNX: UInt64 = (1 << 1) | (1 << 2) | (1 << 63)

  /// Visits entries covering [start, end) in address order (end 0 means the top of memory).
  public func visit(from start: UInt64, to end: UInt64, _ body: (VisitedEntry) -> Void) {
    let levels = walker.mode.levels
    var path: [UInt64] = []
    walkTable(root & walker.frameMask, levelIndex: 0, base: 0, levels: levels, start: start, end: end,
              effectiveAbove: nil, path: &path, body)
  }

  /// Sign-extends a virtual address built from table indices (normalize_addr()).
  func canonical(_ address: UInt64) -> UInt64 {
    let shift = UInt64(64 - walker.mode.virtualAddressBits)
    return UInt64(bitPattern: Int64(bitPattern: address << shift) >> Int64(shift))
  }

  private func walkTable(
    _ table: UInt64, levelIndex: Int, base: UInt64, levels: [PageTableLevel], start: UInt64, end: UInt64,
    effectiveAbove: UInt64?, path: inout [UInt64], _ body: (VisitedEntry) -> Void
  ) {
    let level = levels[levelIndex]
    let span = UInt64(1) << UInt64(level.shift(in: walker.mode))
    var entries = [UInt8](repeating: 0, count: 4096)
    var failure: MemoryError?
    entries.withUnsafeMutableBytes { buf in
      do throws(MemoryError) { try walker.memory.read(table, into: buf) } catch { failure = error }
    }
    path.append(table)
    defer { path.removeLast() }
    for index in 0..<512 {
      let raw = canonical(base &+ UInt64(index) &* span)
      let last = raw &+ (span &- 1)
      // Skip entries wholly outside [start, end).
      if last < start { continue }
      if end != 0 && raw >= end { break }
      if let failure {
        body(VisitedEntry(address: raw, end: raw &+ span, level: level, entry: PageTableEntry(0), effective: 0, unreadable: failure))
        continue
      }
      var value: UInt64 = 0
      for b in 0..<8 { value |= UInt64(entries[index * 8 + b]) << (8 * UInt64(b)) }
      let entry = PageTableEntry(value)
      let own = value & Self.rwUserNX
      let effective = effectiveAbove.map { (($0 & own) & 0b110) | (($0 | own) & (1 << 63)) } ?? own
      let isLeaf = level == .pte || (entry.present && entry.pageSize && level.leafSize != nil)
      let next = value & walker.frameMask
      if !entry.present || isLeaf || levelIndex + 1 >= levels.count || path.contains(next)
        || next >> UInt64(walker.physicalBits) != 0
      {
        body(VisitedEntry(address: raw, end: raw &+ span, level: level, entry: entry, effective: value == 0 ? 0 : effective, unreadable: nil))
        continue
      }
      walkTable(next, levelIndex: levelIndex + 1, base: base &+ UInt64(index) &* span, levels: levels, start: start,
                end: end, effectiveAbove: effective, path: &path, body)
    }
  }
}
