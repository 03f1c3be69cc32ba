// A walk never loops and never follows a table above the physical limit; each is reported.

import KdigMemory
import KdigTestSupport
import KdigTranslation
import Testing

@Suite struct WalkBoundsTests {
  @Test func tableThatPointsAtItselfIsALoop() throws {
    let spec = """
      @0x1000 0x1063   # PGD[0] -> the PGD itself
      """
    let w = PageTableWalker(memory: try PageTableSpec.memory(spec), mode: .fourLevel)
    do {
      _ = try w.walk(0x1234, root: 0x1000)
      Issue.record("walked a loop")
    } catch {
      guard case .loop(let table) = error.reason else { Issue.record("\(error.reason)"); return }
      #expect(table == 0x1000)
      #expect(error.description.contains("loop"))
    }
  }

  @Test func tableBeyondPhysicalLimit() throws {
    let spec = """
      @0x1000 0x400000002063   # PGD[0] -> a table at 0x400000002000 (bit 46: above 46 physical bits)
      """
    let w = PageTableWalker(memory: try PageTableSpec.memory(spec), mode: .fourLevel, physicalBits: 46)
    do {
      _ = try w.walk(0x1234, root: 0x1000)
      Issue.record("followed a table above MAX_PHYSMEM_BITS")
    } catch {
      guard case .tableBeyondLimit(let t, let bits) = error.reason else { Issue.record("\(error.reason)"); return }
      #expect(t == 0x4000_0000_2000)
      #expect(bits == 46)
    }
  }

  @Test func traversalCoalescesLikeThePtdumpWalker() throws {
    // One PUD table under PGD[511]; PMD table under PUD[510] with two 2M pages and a PTE table.
    let spec = """
      @0x1ff8 0x2063                 # PGD[511] -> PUD table 0x2000
      @0x2ff0 0x3063                 # PUD[510] -> PMD table 0x3000 (0xffffffff80000000)
      @0x3000 0x80000000002001e3     # PMD[0] -> 2M at 0x200000, PSE RW GLOBAL NX
      @0x3008 0x80000000004001e3     # PMD[1] -> 2M at 0x400000, same flags
      @0x3010 0x4063                 # PMD[2] -> PTE table 0x4000
      @0x4000 0x8000000000600161     # PTE[0] -> 0x600000 ro GLOBAL NX
      """
    let memory = try PageTableSpec.memory(spec)
    memory.write([UInt8](repeating: 0, count: 8), at: 0x4ff8)  // make the PTE table page exist
    let t = PageTableTraversal(walker: PageTableWalker(memory: memory, mode: .fourLevel), root: 0x1000)
    var leaves: [(UInt64, PageTableLevel, Bool)] = []
    var visits = 0
    t.visit(from: 0xffff_ffff_8000_0000, to: 0xffff_ffff_c000_0000) { v in
      visits += 1
      if v.entry.present { leaves.append((v.address, v.level, v.effective & 2 != 0)) }
    }
    #expect(leaves.map(\.0) == [0xffff_ffff_8000_0000, 0xffff_ffff_8020_0000, 0xffff_ffff_8040_0000])
    #expect(leaves.map(\.1) == [.pmd, .pmd, .pte])
    #expect(leaves.map(\.2) == [true, true, false])
    // 512 PMD slots minus the PTE-table one, plus 512 PTE slots: every slot once.
    #expect(visits == 511 + 512)
  }
}
