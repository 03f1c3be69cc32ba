// The ptdump-style traversal is bounded in work, not only in depth (issue 11): tables that
// fan in are walked once and summarized after, loops and tables beyond the physical limit
// are reported and not followed, and a cap on entries stops the walk and says where.

import KdigMemory
import KdigTestSupport
import KdigTranslation
import Testing

@Suite struct TraversalWorkBoundsTests {
  /// Every kernel PGD entry -> one PUD page -> one PMD page -> one full page table: no loop
  /// on any path, 2^27 leaves under each PGD entry, 2^34 in the kernel half.
  static let fanIn = """
    @0x1800 0x2063*256              # PGD[256..511] -> PUD 0x2000
    @0x2000 0x3063*512              # PUD[*] -> PMD 0x3000
    @0x3000 0x4063*512              # PMD[*] -> PT 0x4000
    @0x4000 0x8000000000000063*512+1000   # PTE[i] -> frame i, RW NX
    """

  @Test func fanInTablesAreWalkedOnceAndSummarized() throws {
    let t = PageTableTraversal(walker: PageTableWalker(memory: try PageTableSpec.memory(Self.fanIn), mode: .fourLevel), root: 0x1000)
    var leaves = 0
    var repeats: [VisitedEntry] = []
    let outcome = t.visit(from: 1 << 63, to: 0) { v in
      if v.isLeaf { leaves += 1 }
      if case .repeated = v.notDescended { repeats.append(v) }
    }
    // One walk of each table (512 × 3 entries) and one visit per kernel PGD entry.
    #expect(outcome.entriesVisited == 512 * 3 + 256)
    #expect(!outcome.limitReached)
    #expect(leaves == 512)
    #expect(outcome.repeatedTables == 511 + 511 + 255)
    let pgdRepeat = try #require(repeats.last { $0.level == .pgd })
    guard case .repeated(let s) = pgdRepeat.notDescended else { return }
    #expect(s.leaves == 1 << 27)
    #expect(s.mappedBytes == 1 << 39)
    #expect(s.writableExecutableLeaves == 0)
    #expect(s.table == 0x2000 && s.level == .pud && s.firstAddress == 0xffff_8000_0000_0000)
    #expect(s.description.contains("not walked again"))
  }

  @Test func repeatsCarryTheirWritableExecutableLeaves() throws {
    let spec = Self.fanIn.replacingOccurrences(of: "0x8000000000000063", with: "0x63")
    let t = PageTableTraversal(walker: PageTableWalker(memory: try PageTableSpec.memory(spec), mode: .fourLevel), root: 0x1000)
    var wx: UInt64 = 0
    t.visit(from: 1 << 63, to: 0) { v in
      if v.isLeaf, v.effective & 2 != 0, v.effective >> 63 == 0 { wx += 1 }
      if case .repeated(let s) = v.notDescended { wx = wx.saturatingAdd(s.writableExecutableLeaves) }
    }
    #expect(wx == 1 << 35)  // 256 PGD entries × 2^27 leaves, every one W+X
  }

  @Test func entryLimitStopsTheWalkAndSaysWhere() throws {
    // PGD[0] -> PUD 0x2000 whose 16 entries point at 16 different PMD tables, each with 512
    // entries pointing at different page tables (absent: each is 512 unreadable entries).
    // Nothing is shared, so nothing is summarized: 2^22 entries without the cap.
    var spec = "@0x1000 0x2063\n@0x2000 0x100063*16+1000\n"
    for i in 0..<16 {
      spec += "@0x\(String(0x100000 + i * 0x1000, radix: 16)) 0x\(String(0x1000_0063 + i * 0x20_0000, radix: 16))*512+1000\n"
    }
    let t = PageTableTraversal(
      walker: PageTableWalker(memory: try PageTableSpec.memory(spec), mode: .fourLevel), root: 0x1000, entryLimit: 5000)
    var visits = 0
    let outcome = t.visit(from: 0, to: 1 << 47) { _ in visits += 1 }
    #expect(outcome.limitReached)
    #expect(outcome.entriesVisited == 5000)
    #expect(visits < 5000)  // tables descended into are counted, not reported
    let stop = try #require(outcome.stoppedAt)
    #expect(stop > 0 && stop < 1 << 39)
  }

  @Test func callerCanStopTheWalk() throws {
    let t = PageTableTraversal(walker: PageTableWalker(memory: try PageTableSpec.memory(Self.fanIn), mode: .fourLevel), root: 0x1000)
    var seen = 0
    let outcome = t.visitUntil(from: 1 << 63, to: 0) { v in
      seen += 1
      return seen == 10
    }
    #expect(seen == 10)
    #expect(!outcome.limitReached)
    #expect(outcome.stoppedAt == 0xffff_8000_0000_a000)
  }

  @Test func loopsAndTablesBeyondTheLimitAreNotLeaves() throws {
    let spec = """
      @0x1000 0x1063            # PGD[0] -> the PGD itself
      @0x1008 0x400000002063    # PGD[1] -> a table above 46 physical bits
      """
    let t = PageTableTraversal(
      walker: PageTableWalker(memory: try PageTableSpec.memory(spec), mode: .fourLevel, physicalBits: 46), root: 0x1000)
    var reasons: [String] = []
    t.visit(from: 0, to: 2 << 39) { v in
      #expect(!v.isLeaf)
      if let n = v.notDescended { reasons.append(n.description) }
    }
    #expect(reasons.count == 2)
    #expect(reasons.first?.contains("page-table loop") == true)
    #expect(reasons.last?.contains("beyond the 46-bit physical address limit") == true)
  }
}
