// Entry decoding against the kernel's definitions (arch/x86/include/asm/pgtable_types.h,
// pgtable_64.h) with values built bit by bit in the test, not by the decoder.

import KdigTranslation
import Testing

@Suite struct EntryDecoderTests {
  let d612 = EntryDecoder(kernelBits: .forKernel(major: 6, minor: 12), maxSwapFiles: 23)
  let d61 = EntryDecoder(kernelBits: .forKernel(major: 6, minor: 1))

  @Test func leafAtEveryLevel() {
    let pte: UInt64 = 0x8000_0000_0123_4000 | 0x163  // PRESENT RW ACCESSED DIRTY GLOBAL, NX
    #expect(d612.meaning(PageTableEntry(pte), at: .pte) == .leaf(frame: 0x123_4000, size: 4096))
    // 2 MiB leaf with PAT_LARGE (bit 12): the frame is 2 MiB aligned, bit 12 is not an address bit.
    let pmd: UInt64 = 0x4020_1000 | 0x80 | 0x1
    #expect(d612.meaning(PageTableEntry(pmd), at: .pmd) == .leaf(frame: 0x4020_0000, size: 1 << 21))
    #expect(d612.flagNames(PageTableEntry(pmd), at: .pmd, leaf: true) == ["PRESENT", "PSE", "PAT"])
    let pud: UInt64 = 0x1_4000_0000 | 0x80 | 0x3
    #expect(d612.meaning(PageTableEntry(pud), at: .pud) == .leaf(frame: 0x1_4000_0000, size: 1 << 30))
    // Bit 7 in a PTE is PAT, not PSE.
    #expect(d612.flagNames(PageTableEntry(0x5000 | 0x81), at: .pte, leaf: true) == ["PRESENT", "PAT"])
    // A PMD without PS points at a table.
    #expect(d612.meaning(PageTableEntry(0x7000 | 0x63), at: .pmd) == .table(next: 0x7000))
  }

  @Test func softwareBitsFollowTheKernelVersion() {
    // Bits 9, 10, 11, 57, 58 all set.
    let raw: UInt64 = 0x1 | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 57) | (1 << 58)
    #expect(d612.flagNames(PageTableEntry(raw), at: .pte, leaf: true)
      == ["PRESENT", "SPECIAL", "UFFD_WP", "SOFT_DIRTY", "DEVMAP", "SAVED_DIRTY"])
    // Before v6.6 DEVMAP was bit 58 and bit 57 was unused.
    #expect(d61.flagNames(PageTableEntry(raw), at: .pte, leaf: true)
      == ["PRESENT", "SPECIAL", "UFFD_WP", "SOFT_DIRTY", "DEVMAP"])
    #expect(KernelPTEBits.forRelease("6.13.0").rootBits[58] == "NOPTISHADOW")
    #expect(KernelPTEBits.forRelease("6.1.0-56-cloud-amd64") == .forKernel(major: 6, minor: 1))
  }

  @Test func protectionKeys() {
    let raw: UInt64 = 0x1 | (0b1010 << 59)
    #expect(PageTableEntry(raw).protectionKey == 10)
    #expect(d612.flagNames(PageTableEntry(raw), at: .pte, leaf: true).contains("PKEY=10"))
  }

  @Test func protNoneUninvertsThePFN() {
    // pfn_pte() for PROT_NONE stores ~pfn in bits 12-51 (L1TF), keeps the prot bits.
    let pfn: UInt64 = 0x1234
    let inverted = (~(pfn << 12)) & 0x000f_ffff_ffff_f000
    let raw = inverted | 0x100 | 0x20  // PROTNONE (= GLOBAL bit) + ACCESSED, PRESENT clear
    #expect(d612.meaning(PageTableEntry(raw), at: .pte) == .protNone(frame: pfn << 12))
    #expect(d612.flagNames(PageTableEntry(raw), at: .pte, leaf: true) == ["ACCESSED", "PROTNONE"])
    #expect(PageTableEntry(raw).crashFlagNames.contains("PROTNONE"))
  }

  @Test func swapEntriesAreL1TFInverted() {
    // __swp_entry(type, offset): type in bits 59-63, ~offset in bits 9-58.
    func swp(_ type: UInt64, _ offset: UInt64) -> UInt64 {
      (type << 59) | ((~offset << 14) >> 5 & ((1 << 59) - (1 << 9)))
    }
    let raw = swp(3, 0x1_2345)
    guard case .swap(let e) = d612.meaning(PageTableEntry(raw), at: .pte) else {
      Issue.record("not decoded as swap")
      return
    }
    #expect(e.type == 3)
    #expect(e.offset == 0x1_2345)
    #expect(e.kind == .swap)
    // Types from MAX_SWAPFILES up: hwpoison, then the migration entries (include/linux/swap.h).
    let kinds = (23...26).compactMap { t -> SwapKind? in
      if case .swap(let e) = d612.meaning(PageTableEntry(swp(UInt64(t), 7)), at: .pte) { return e.kind }
      return nil
    }
    #expect(kinds == [.hwpoison, .migrationRead, .migrationReadExclusive, .migrationWrite])
    if case .swap(let m) = d612.meaning(PageTableEntry(swp(31, 0)), at: .pte) { #expect(m.kind == .marker) }
  }

  @Test func effectivePermissionsAcrossLevels() {
    func step(_ raw: UInt64, _ level: PageTableLevel) -> WalkStep {
      WalkStep(level: level, tableAddress: 0, index: 0, entryAddress: 0, entry: PageTableEntry(raw))
    }
    // Leaf RW+USER, executable, under a read-only PMD and an NX PUD.
    let steps = [step(0x67, .pgd), step(0x8000_0000_0000_0067, .pud), step(0x65, .pmd), step(0x67, .pte)]
    let p = EffectivePermissions(steps: steps)
    #expect(!p.writable)
    #expect(p.user)
    #expect(!p.executable)
    #expect(p.summary == "ro USR NX")
  }

  @Test func cr3Fields() {
    let f = CR3Fields(0x8000_0000_0182_f805)
    #expect(f.pcid == 0x805)
    #expect(f.ptiUser)
    #expect(f.noFlush)
    #expect(f.table.value == 0x182_f000)
  }
}
