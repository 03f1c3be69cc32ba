// Page tables in fuzzed physical memory: `u64 root (CR3-like), u8 flags (bit 0: 5-level),
// u64 SME mask, u8 physical address bits, 4 × u64 virtual addresses, then a MemoryImage`
// of physical pages. Walks those addresses and some fixed kernel ones (vtop), reads through
// the address space (its TLB), and runs a ptdump-style traversal with a small entry limit.

import KdigMemory
import KdigTranslation

enum PageTableTarget {
  /// Entries one traversal visits here: the real limit is 4 Mi, far too slow per input;
  /// reaching a limit, not its size, is what needs fuzzing.
  static let entryLimit = 1 << 12
  /// Kernel addresses every real dump is asked about.
  static let fixedAddresses: [UInt64] = [
    0xffff_ffff_8100_0000, 0xffff_8880_0000_0000, 0xffff_fe00_0000_0000, 0xffff_ea00_0000_0000,
    0xffff_c900_0000_0000, 0x0000_7fff_ffff_f000, 0xff11_0000_0000_0000,
  ]

  static func run(_ bytes: [UInt8]) throws {
    var cursor = FuzzCursor(bytes)
    let root = cursor.u64()
    let mode: PagingMode = cursor.u8() & 1 == 0 ? .fourLevel : .fiveLevel
    let sme = cursor.u64()
    let bits = Int(cursor.u8())
    let chosen = (0..<4).map { _ in cursor.u64() }
    let memory = MemoryImage.load(&cursor)
    let walker = PageTableWalker(memory: memory, mode: mode, encryptionMask: sme, physicalBits: bits)
    let space = PageTableAddressSpace(walker: walker, root: root)
    var word = [UInt8](repeating: 0, count: 16)
    for va in chosen + fixedAddresses {
      if let t = try? walker.walk(va, root: root) { _ = (t.permissions, t.leaf.present) }
      word.withUnsafeMutableBytes { try? space.read(va &- 8, into: $0) }
    }
    let traversal = PageTableTraversal(walker: walker, root: root, entryLimit: entryLimit)
    var leaves = 0
    traversal.visit(from: 0xffff_8000_0000_0000, to: 0) { if $0.isLeaf { leaves += 1 } }
    traversal.visit(from: chosen[0], to: chosen[1]) { _ = $0.notDescended?.description }
    // For replays: the first chosen address's walk, the one a seed is made to reach.
    _ = try walker.walk(chosen[0], root: root)
  }
}
