// Visits every entry of a page-table tree over an address range, the way the kernel's
// generic ptdump walker does (mm/ptdump.c, arch/x86/mm/dump_pagetables.c): each leaf, each
// non-present entry and each empty slot is reported once with its level and the effective
// permissions of the path (RW/USER ANDed, NX ORed).
//
// Bounded in work, not only in depth: page tables come from the dump, and tables that fan in
// (every entry of a level pointing at one table below) have no loop on any path yet 2^35
// paths from one root. So a table already walked (same level, same inherited rights) is not
// walked again: its summary stands in for it (`NotDescended.repeated`); tables already on the
// path are not re-entered; and the entries visited are capped (`defaultEntryLimit`), the
// outcome saying where the traversal stopped.

import KdigMemory

/// Walks page tables over virtual ranges.
public struct PageTableTraversal {
  /// Entries one traversal visits at most: 8192 full tables (4 Mi entries), well under a
  /// second in a release build. A real kernel half has 50-60 thousand entries (the samples);
  /// a machine whose direct map is split into 4 KiB pages needs one entry per 4 KiB of RAM
  /// (16 GiB: 4 Mi), and then the output says where the walk stopped.
  public static let defaultEntryLimit = 1 << 22

  public let walker: PageTableWalker
  public let root: UInt64
  public let entryLimit: Int

  public init(walker: PageTableWalker, root: UInt64, entryLimit: Int = PageTableTraversal.defaultEntryLimit) {
    self.walker = walker
    self.root = root
    self.entryLimit = max(1, entryLimit)
  }

  static let rwUserNX: UInt64 = (1 << 1) | (1 << 2) | (1 << 63)

  /// Visits entries covering [start, end) in address order (end 0 means the top of memory).
  @discardableResult
  public func visit(from start: UInt64, to end: UInt64, _ body: (VisitedEntry) -> Void) -> TraversalOutcome {
    visitUntil(from: start, to: end) { body($0); return false }
  }

  /// As `visit`, stopping after the first entry for which `body` returns true.
  @discardableResult
  public func visitUntil(from start: UInt64, to end: UInt64, _ body: (VisitedEntry) -> Bool)
    -> TraversalOutcome
  {
    var state = State(outcome: TraversalOutcome(entryLimit: entryLimit))
    _ = walkTable(root & walker.frameMask, levelIndex: 0, base: 0, range: (start, end), effectiveAbove: nil, &state, body)
    return state.outcome
  }

  /// Sign-extends a virtual address built from table indices (normalize_addr()).
  func canonical(_ address: UInt64) -> UInt64 {
    let shift = UInt64(64 - walker.mode.virtualAddressBits)
    return UInt64(bitPattern: Int64(bitPattern: address << shift) >> Int64(shift))
  }

  /// A table walked once, by level and inherited rights (which decide its W+X leaves).
  struct MemoKey: Hashable {
    var table: UInt64
    var levelIndex: Int
    var effectiveAbove: UInt64?
  }

  struct State {
    var outcome: TraversalOutcome
    var path: [UInt64] = []
    var memo: [MemoKey: TableSummary] = [:]
    var stopped = false
  }

  /// Walks one table; returns its summary, or nil when the walk did not cover all of it
  /// (clipped by the range, stopped) and so must not stand in for later visits.
  private func walkTable(
    _ table: UInt64, levelIndex: Int, base: UInt64, range: (start: UInt64, end: UInt64), effectiveAbove: UInt64?,
    _ state: inout State, _ body: (VisitedEntry) -> Bool
  ) -> TableSummary? {
    let levels = walker.mode.levels
    let level = levels[levelIndex]
    let span = UInt64(1) << UInt64(level.shift(in: walker.mode))
    var entries = [UInt8](repeating: 0, count: 4096)
    var failure: MemoryError?
    entries.withUnsafeMutableBytes { buf in
      do throws(MemoryError) { try walker.memory.read(table, into: buf) } catch { failure = error }
    }
    state.path.append(table)
    defer { state.path.removeLast() }
    var summary = TableSummary(table: table, level: level, firstAddress: canonical(base))
    summary.unreadable = failure?.description
    var whole = true
    for index in 0..<512 {
      let raw = canonical(base &+ UInt64(index) &* span)
      let last = raw &+ (span &- 1)
      // Skip entries wholly outside [start, end).
      if last < range.start {
        whole = false
        continue
      }
      if range.end != 0 && raw >= range.end {
        whole = false
        break
      }
      guard !state.stopped else { return nil }
      guard state.outcome.entriesVisited < entryLimit else {
        state.stopped = true
        state.outcome.limitReached = true
        state.outcome.stoppedAt = raw
        return nil
      }
      state.outcome.entriesVisited += 1
      var visited = VisitedEntry(address: raw, end: raw &+ span, level: level, entry: PageTableEntry(0), effective: 0)
      if let failure {
        visited.unreadable = failure
        if body(visited) { stop(&state, after: visited) }
        continue
      }
      let value = entries.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) }
      let entry = PageTableEntry(UInt64(littleEndian: value))
      let own = entry.raw & Self.rwUserNX
      let effective = effectiveAbove.map { (($0 & own) & 0b110) | (($0 | own) & (1 << 63)) } ?? own
      visited.entry = entry
      visited.effective = entry.raw == 0 ? 0 : effective
      let isLeaf = level == .pte || (entry.present && entry.pageSize && level.leafSize != nil)
      let next = entry.raw & walker.frameMask
      if !entry.present || isLeaf || levelIndex + 1 >= levels.count {
        if entry.present {
          summary.leaves = summary.leaves.saturatingAdd(1)
          summary.mappedBytes = summary.mappedBytes.saturatingAdd(span)
          if effective & (1 << 1) != 0 && effective & (1 << 63) == 0 {
            summary.writableExecutableLeaves = summary.writableExecutableLeaves.saturatingAdd(1)
          }
        }
      } else if state.path.contains(next) {
        visited.notDescended = .loop(table: next)
      } else if next >> UInt64(walker.physicalBits) != 0 {
        visited.notDescended = .beyondLimit(table: next, bits: walker.physicalBits)
      } else if let seen = state.memo[MemoKey(table: next, levelIndex: levelIndex + 1, effectiveAbove: effective)] {
        state.outcome.repeatedTables += 1
        summary.absorb(seen)
        visited.notDescended = .repeated(seen)
      } else {
        let sub = walkTable(
          next, levelIndex: levelIndex + 1, base: base &+ UInt64(index) &* span, range: range, effectiveAbove: effective,
          &state, body)
        if let sub {
          summary.absorb(sub)
        } else {
          whole = false
        }
        continue
      }
      if body(visited) { stop(&state, after: visited) }
    }
    guard whole, !state.stopped else { return nil }
    state.memo[MemoKey(table: table, levelIndex: levelIndex, effectiveAbove: effectiveAbove)] = summary
    return summary
  }

  /// The caller asked to stop after `entry`.
  private func stop(_ state: inout State, after entry: VisitedEntry) {
    state.stopped = true
    state.outcome.stoppedAt = entry.end
  }
}
