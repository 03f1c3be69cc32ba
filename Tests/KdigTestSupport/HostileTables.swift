// Hostile page tables written into an uncompressed ELF dump: tables that fan in (every
// kernel PGD entry -> one PUD -> one PMD -> one page table: 2^27 leaves per PGD entry and
// no loop on any path), loops at and across levels, tables beyond the physical limit or the
// dump, a random root, random tables, PS bits where they do not belong, flipped rights.
// Scratch tables go in frames 0x10000-0x2f000 (the first MiB, which the kernel reserves
// and kdig never reads data from).

import Foundation

extension MalformedDumps {
  static let pud: UInt64 = 0x10000, pmd: UInt64 = 0x11000, pt: UInt64 = 0x12000, filler: UInt64 = 0x13000
  /// Present, RW, accessed, dirty: what the kernel puts in table entries (_KERNPG_TABLE).
  static let table: UInt64 = 0x63

  /// The hostile-table mutants of the ELF dump `f`, whose kernel PGD is at `facts.rootTable`.
  public static func hostileTables(_ f: DumpBytes, facts: SampleFacts, family: Int) throws -> [Mutant] {
    var rng = random(family)
    let g = try ElfGeometry(f)
    let root = facts.rootTable
    /// Patches writing `words` at physical `pa`.
    func at(_ pa: UInt64, _ words: [UInt64]) -> [FilePatch] {
      guard let off = g.fileOffset(physical: pa) else { return [] }
      return [FilePatch(off, words.flatMap { littleEndian($0, width: 8) })]
    }
    func read(_ pa: UInt64) throws -> [UInt64] {
      guard let off = g.fileOffset(physical: pa) else { return [] }
      return try (0..<512).map { try f.le(off + UInt64($0 * 8), 8) }
    }
    let kernelHalf = root + 256 * 8
    let fanIn = at(kernelHalf, [UInt64](repeating: pud | table, count: 256))
      + at(pud, [UInt64](repeating: pmd | table, count: 512)) + at(pmd, [UInt64](repeating: pt | table, count: 512))
    var out: [Mutant] = [
      Mutant("tables.fan-in(identity leaves)", fanIn + at(pt, (0..<512).map { $0 << 12 | table }), allCommands: true),
      // Every kernel read returns 0xffffffff80000000: node_data, node_present_pages… all huge.
      Mutant(
        "tables.fan-in(leaves -> kernel-address words)",
        fanIn + at(pt, [UInt64](repeating: filler | table, count: 512))
          + at(filler, [UInt64](repeating: 0xffff_ffff_8000_0000, count: 512)), allCommands: true),
      Mutant(
        "tables.fan-in(1 GiB leaves)",
        at(kernelHalf, [UInt64](repeating: pud | table, count: 256))
          + at(pud, [UInt64](repeating: 0xe3, count: 512)), allCommands: true),
      Mutant("tables.loop(kernel PGD -> itself)", at(kernelHalf, [UInt64](repeating: root | table, count: 256)), allCommands: true),
      Mutant(
        "tables.loop(PUD -> PGD)",
        at(kernelHalf, [UInt64](repeating: pud | table, count: 256))
          + at(pud, [UInt64](repeating: root | table, count: 512)), allCommands: true),
      Mutant(
        "tables.beyond-physical-limit",
        at(kernelHalf, [UInt64](repeating: 0x000f_ffff_ffff_f000 | table, count: 256)), allCommands: true),
      Mutant(
        "tables.beyond-dump-end",
        at(kernelHalf, [UInt64](repeating: 0x0000_0fff_ffff_f000 | table, count: 256)), allCommands: true),
      Mutant("tables.random-root", at(root, (0..<1024).map { _ in rng.next() }), allCommands: true),
      Mutant("tables.empty-root", at(root, [UInt64](repeating: 0, count: 1024)), allCommands: true),
    ]
    // Distinct tables everywhere: kernel PGD -> 256 PUDs at scratch frames, whose entries
    // point at 131072 different pages of RAM read as PMD tables (walk and range caps).
    let puds = (0..<16).map { 0x20000 + UInt64($0) << 12 }
    var distinct = at(kernelHalf, (0..<256).map { puds[$0 % 16] | table })
    for (i, p) in puds.enumerated() {
      distinct += at(p, (0..<512).map { j in (0x100_0000 + UInt64((i * 512 + j) % 100_000) << 12) | table })
    }
    out.append(Mutant("tables.distinct(random RAM as tables)", distinct, allCommands: true))
    // PS bits at odd levels on the real tables: the PGD (reserved there), the kernel-text
    // PUD (1 GiB leaves over tables), its PMD (2 MiB leaves over page tables).
    let pgd = try read(root)
    out.append(
      Mutant("tables.PS-at-PGD", at(root, pgd.map { $0 & 1 != 0 ? $0 | 0x80 : $0 }), allCommands: true))
    if let textPUD = pgd.last.map({ $0 & 0x000f_ffff_ffff_f000 }), textPUD != 0 {
      let puds = try read(textPUD)
      out.append(Mutant("tables.PS-at-PUD", at(textPUD, puds.map { $0 & 1 != 0 ? $0 | 0x80 : $0 }), allCommands: true))
      if puds.count == 512, puds[510] & 1 != 0 {
        let textPMD = puds[510] & 0x000f_ffff_ffff_f000
        let pmds = try read(textPMD)
        out.append(Mutant("tables.PS-at-PMD", at(textPMD, pmds.map { $0 & 1 != 0 ? $0 | 0x80 : $0 }), allCommands: true))
        out.append(
          Mutant(
            "tables.rights-flipped(text PMD: RW, USER, no NX)",
            at(textPMD, pmds.map { $0 & 1 != 0 ? ($0 | 0x6) & ~(1 << 63) : $0 }), allCommands: true))
      }
    }
    return out
  }
}
