// Walks of page tables written as text; each entry's comment gives its walk path.

import KdigMemory
import KdigTestSupport
import KdigTranslation
import Testing

@Suite struct PageWalkTests {
  // 4-level tables rooted at 0x1000.
  static let fourLevel = """
    @0x1000
    # PGD[511] -> PUD table at 0x2000 (0xffffff8000000000 … top of the address space)
    @0x1ff8 0x2067
    # PGD[0] -> PUD table at 0x6000 (user half)
    @0x1000 0x6067
    # PUD[510] -> 1 GiB page at 0x40000000, RW, NX  (0xffffffff80000000)
    @0x2ff0 0x80000000400000e3
    # PUD[511] -> PMD table at 0x3000 (0xffffffffc0000000)
    @0x2ff8 0x3063
    # PMD[0] -> 2 MiB page at 0x200000, PAT bit 12 set (must not leak into the address)
    @0x3000 0x2010e1
    # PMD[1] -> PTE table at 0x4000 (0xffffffffc0200000)
    @0x3008 0x4063
    # PTE[0] -> 0x5000 RO, GLOBAL, NX (0xffffffffc0200000)
    @0x4000 0x8000000000005121
    # PTE[1] -> not present (0xffffffffc0201000)
    @0x4008 0x0
    # PTE[2] -> 0x7000 RW (0xffffffffc0202000)
    @0x4010 0x7063
    # PUD for user: PUD[0] -> PMD table at 0x8000, which is excluded from the dump
    @0x6000 0x8067
    exclude 0x8
    """

  func walker(_ spec: String, mode: PagingMode = .fourLevel, sme: UInt64 = 0) throws -> PageTableWalker {
    PageTableWalker(memory: try PageTableSpec.memory(spec), mode: mode, encryptionMask: sme)
  }

  @Test func oneGigabytePage() throws {
    let t = try walker(Self.fourLevel).walk(0xffff_ffff_8123_4567, root: 0x1000)
    #expect(t.physicalAddress == 0x4000_0000 + 0x0123_4567)
    #expect(t.leafLevel == .pud)
    #expect(t.pageSize == 1 << 30)
    #expect(t.steps.map(\.level) == [.pgd, .pud])
    #expect(t.steps[0].entryAddress == 0x1ff8)
    #expect(t.steps[1].index == 510)
  }

  @Test func twoMegabytePageDropsPATBit() throws {
    let t = try walker(Self.fourLevel).walk(0xffff_ffff_c012_3456, root: 0x1000)
    #expect(t.physicalAddress == 0x20_0000 + 0x12_3456)
    #expect(t.leafLevel == .pmd)
  }

  @Test func fourKilobytePageAndFlags() throws {
    let t = try walker(Self.fourLevel).walk(0xffff_ffff_c020_0abc, root: 0x1000)
    #expect(t.physicalAddress == 0x5abc)
    #expect(t.steps.count == 4)
    let leaf = try #require(t.steps.last).entry
    #expect(leaf.crashFlagNames == ["PRESENT", "ACCESSED", "GLOBAL", "NX"])
    #expect(!leaf.writable)
  }

  @Test func notPresentReportsTheLevel() throws {
    do {
      _ = try walker(Self.fourLevel).walk(0xffff_ffff_c020_1000, root: 0x1000)
      Issue.record("translated a non-present page")
    } catch let error as TranslationError {
      guard case .notPresent = error.reason else { Issue.record("wrong reason \(error.reason)"); return }
      #expect(error.steps.last?.level == .pte)
      #expect(error.steps.last?.index == 1)
      #expect(error.category == .notMapped)
      #expect(error.description.contains("pte[1]"))
    }
  }

  @Test func nonCanonicalIsItsOwnError() throws {
    do {
      _ = try walker(Self.fourLevel).walk(0x0000_8000_0000_0000, root: 0x1000)
      Issue.record("translated a non-canonical address")
    } catch let error as TranslationError {
      guard case .nonCanonical = error.reason else { Issue.record("wrong reason"); return }
      #expect(error.steps.isEmpty)
    }
  }

  @Test func excludedTableIsNotInDump() throws {
    do {
      _ = try walker(Self.fourLevel).walk(0x1000, root: 0x1000)
      Issue.record("walked through an excluded table")
    } catch let error as TranslationError {
      guard case .tableUnreadable(let m) = error.reason else { Issue.record("wrong reason"); return }
      #expect(m.reason == .excluded)
      #expect(error.category == .notInDump)
      #expect(error.steps.last?.level == .pmd)
    }
  }

  @Test func smeMaskIsNotAnAddressBit() throws {
    // PGD[0] -> PUD at 0x2000 with the C-bit (bit 47) set; PUD[0] -> 1G page with C-bit.
    let spec = """
      @0x1000 0x800000002063   # PGD[0] -> PUD table 0x2000 (C-bit 47 set)
      @0x2000 0x8000000000e3   # PUD[0] -> 1 GiB page at 0 (C-bit set)
      """
    let t = try walker(spec, sme: 1 << 47).walk(0x1234, root: 0x1000)
    #expect(t.physicalAddress == 0x1234)
  }

  @Test func fiveLevelWalkVisitsP4D() throws {
    // 0xff11000000000000: PGD index (bits 48-56) = 0x111, P4D index 0, PUD 0, PMD 0.
    let spec = """
      @0x1888 0x2063           # PGD[0x111] -> P4D table 0x2000
      @0x2000 0x3063           # P4D[0] -> PUD table 0x3000
      @0x3000 0x100000e3       # PUD[0] -> 1 GiB page at 0x10000000? (bits below 30 ignored)
      """
    let t = try walker(spec, mode: .fiveLevel).walk(0xff11_0000_0000_1000, root: 0x1000)
    #expect(t.steps.map(\.level) == [.pgd, .p4d, .pud])
    #expect(t.physicalAddress == 0x1000)
    #expect(!PagingMode.fourLevel.isCanonical(0xff11_0000_0000_0000))
    #expect(PagingMode.fiveLevel.isCanonical(0xff11_0000_0000_0000))
  }

  @Test func addressSpaceReadsAcrossPages() throws {
    let mem = try PageTableSpec.memory(Self.fourLevel)
    mem.write(Array("ABCDEFGH".utf8), at: 0x5ffc)  // last 4 bytes of frame 0x5000…
    mem.write(Array("IJKL".utf8), at: 0x7000)  // … continue in frame 0x7000 (PTE[2])
    let space = PageTableAddressSpace(walker: PageTableWalker(memory: mem, mode: .fourLevel), root: 0x1000)
    // 0xffffffffc0200ffc..: PTE[0] then PTE[1] is not present, so cross into PTE[2] instead:
    let bytes = try space.bytes(at: 0xffff_ffff_c020_2000, count: 4)
    #expect(bytes == Array("IJKL".utf8))
    #expect(throws: (any Error).self) { try space.bytes(at: 0xffff_ffff_c020_0ffc, count: 8) }
    #expect(try space.translate(0xffff_ffff_c020_0010) == 0x5010)
    #expect(try space.translate(0xffff_ffff_c020_0010) == 0x5010)  // served by the TLB
  }

  @Test func nonPresentLeavesDecodeFromTextTables() throws {
    // PTE[0] is PROT_NONE for frame 0x1234 (PFN stored inverted, L1TF); PTE[1] is swap entry
    // type 2 offset 0x55 (type in 59-63, ~offset in 9-58).
    let spec = """
      @0x1000 0x2067                 # PGD[0] -> PUD table 0x2000
      @0x2000 0x3067                 # PUD[0] -> PMD table 0x3000
      @0x3000 0x4067                 # PMD[0] -> PTE table 0x4000
      @0x4000 0x000ffffffedcb120     # PTE[0] -> PROT_NONE (present clear, bit 8, ACCESSED), bits 12-51 = ~0x1234
      @0x4008 0x17ffffffffff5400     # PTE[1] -> swap: type 2 (bits 59-63), ~offset 0x55 in bits 9-58
      """
    let w = try walker(spec)
    let d = EntryDecoder(kernelBits: .forKernel(major: 6, minor: 12))
    for (va, expected) in [(UInt64(0x0), EntryMeaning.protNone(frame: 0x123_4000)), (0x1000, .swap(SwapEntry(type: 2, offset: 0x55, kind: .swap)))] {
      do {
        _ = try w.walk(va, root: 0x1000)
        Issue.record("a non-present PTE translated")
      } catch {
        let leaf = try #require(error.steps.last)
        #expect(leaf.level == .pte)
        #expect(d.meaning(leaf.entry, at: .pte) == expected)
      }
    }
  }

  @Test func translationCacheNeverChangesAnswers() throws {
    let mem = try PageTableSpec.memory(Self.fourLevel)
    let w = PageTableWalker(memory: mem, mode: .fourLevel)
    let space = PageTableAddressSpace(walker: w, root: 0x1000)
    // Addresses in several pages, each asked repeatedly in an interleaved order.
    let addresses: [UInt64] = (0..<2000).map { i in
      [0xffff_ffff_8123_4567, 0xffff_ffff_c012_3456, 0xffff_ffff_c020_0abc, 0xffff_ffff_c020_1000, 0xffff_ffff_c020_2008][i % 5]
        &+ UInt64((i * 7919) & 0xff8)
    }
    for va in addresses {
      let direct = try? w.walk(va, root: 0x1000).physicalAddress
      let cached = try? space.translate(va)
      #expect(direct == cached, "\(String(va, radix: 16))")
    }
  }
}
