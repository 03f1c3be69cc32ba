// The per-build indexes derived from kallsyms and BTF (DerivedIndexCache): the first read
// stores them, the next one uses them; an index computed from other bytes is not used, and a
// damaged file is either recomputed or, where its shape is right, bounded: no trap, no hang.

import Foundation
import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct DerivedIndexCacheTests {
  static let buildID = "d74ef9d763bbd2561619db994071f549808d2ce1"

  struct Fixture {
    let root: String
    let cache: RegionCache
    var indexes: DerivedIndexCache { DerivedIndexCache(directory: cache.directory) }

    init() throws {
      root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-idx-\(UUID().uuidString)").path
      cache = try #require(RegionCache(buildID: DerivedIndexCacheTests.buildID, root: root))
    }

    func kallsyms(_ b: KallsymsBuilder) throws -> KallsymsTable {
      let (memory, info) = b.build()
      let reader = CachedRegionReader(memory: memory, cache: cache, kaslrOffset: KallsymsTests.kaslr)
      return try KallsymsTable.read(
        from: memory, location: try KallsymsLocation.from(info), kaslrOffset: KallsymsTests.kaslr, regions: reader)
    }

    /// Rewrites one section of a stored index in place (same length).
    func patch(_ key: String, section: Int, _ change: (inout [UInt8]) -> Void) throws {
      let path = indexes.path(key: key)
      var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
      let count = Int(bytes[16])
      var offset = 24 + 8 * count
      for i in 0..<section { offset += (Int(bytes[24 + 8 * i]) + 7) & ~7 }
      let length = Int(bytes[24 + 8 * section]) | Int(bytes[25 + 8 * section]) << 8
      var body = Array(bytes[offset..<(offset + length)])
      change(&body)
      bytes.replaceSubrange(offset..<(offset + length), with: body)
      try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
  }

  /// Everything a caller can ask of the table, for comparing two reads.
  static func answers(_ t: KallsymsTable) -> [String] {
    (0..<t.count).map { i in
      let s = t.symbol(at: i)
      return "\(s.name) \(s.letter) \(hex(s.value)) \(s.size) \(t.lookup(s.name).map(\.index))"
    }
  }

  @Test func kallsymsIndexIsStoredUsedAndCheckedAgainstTheTables() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.root) }
    let b = KallsymsBuilder(
      symbols: KallsymsTests.symbols, encoding: .absolutePercpu, relativeBase: 0xffff_ffff_8100_0000 + KallsymsTests.kaslr)
    let computed = try f.kallsyms(b)
    #expect(FileManager.default.fileExists(atPath: f.indexes.path(key: "kallsyms")))
    let loaded = try f.kallsyms(b)
    #expect(Self.answers(loaded) == Self.answers(computed))

    // The stored index is what a second read uses: a runtime address changed in it (still in
    // order) shows up. (Section 4: runtime addresses, u64 each; symbol 1 is gdt_page, 0xb000.)
    try f.patch("kallsyms", section: 4) { $0[8 + 1] = 0xb1 }
    #expect(try f.kallsyms(b).first("gdt_page")?.value == 0xb100)

    // An entry pointing past kallsyms_names (section 0: entry starts, i32): recomputed.
    try f.patch("kallsyms", section: 0) { $0[4 * 3 + 3] = 0x7f }
    #expect(Self.answers(try f.kallsyms(b)) == Self.answers(computed))

    // Name slots all taken (section 5): a lookup ends after one lap and still finds names.
    try f.patch("kallsyms", section: 5) { body in body = body.map { _ in 1 } }
    let fullSlots = try f.kallsyms(b)
    #expect(fullSlots.lookup("no_such_symbol").isEmpty)

    // Other tables of the same build-id (a damaged or different dump): their own index.
    var other = b
    other.symbols[4].name = "bar_helper"
    let otherTable = try f.kallsyms(other)
    #expect(otherTable.first("bar_helper") != nil && otherTable.first("foo_helper")?.letter == "d")
    #expect(Self.answers(try f.kallsyms(other)) == Self.answers(otherTable))
  }

  @Test func btfIndexIsStoredAndUsed() throws {
    let f = try Fixture()
    defer { try? FileManager.default.removeItem(atPath: f.root) }
    var b = TypesBTFBuilder()
    let int = b.int("int", size: 4, signed: true)
    _ = b.structure("pair", size: 8, [("a", int, 0, nil), ("b", int, 32, nil)])
    let base: UInt64 = 0xffff_ffff_8b00_0000
    let memory = FakeKernelMemory()
    memory.regions = [(base, b.blob)]
    let reader = CachedRegionReader(memory: memory, cache: f.cache, kaslrOffset: 0x9800000)
    let range = DumpBTFRange(start: base, size: b.blob.count)

    let first = try range.read(from: reader)
    #expect(try first.offsetof("pair.b") == 4)
    #expect(FileManager.default.fileExists(atPath: f.indexes.path(key: "btf")))
    let second = try range.read(from: reader)
    #expect(try second.offsetof("pair.b") == 4)
    #expect(second.layout.recordOffsets == first.layout.recordOffsets)

    // Record offsets out of order (section 0): walked again, same answers.
    try f.patch("btf", section: 0) { $0[4] = 0xff }
    let rewalked = try range.read(from: reader)
    #expect(rewalked.layout.recordOffsets == first.layout.recordOffsets)
    // Name slots naming types that do not exist (section 1): skipped, the type still found
    // where its hash puts it, or not found — never a trap.
    try f.patch("btf", section: 1) { body in body = body.map { _ in 0xee } }
    _ = try? range.read(from: reader).offsetof("pair.b")
  }

  @Test func fingerprintSeesEveryByteAndTheLength() {
    func fp(_ bytes: [UInt8]) -> UInt64 {
      var f = ContentFingerprint()
      bytes.withUnsafeBytes { f.add($0) }
      return f.value
    }
    let base = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    var seen: Set<UInt64> = [fp(base)]
    for i in [0, 7, 31, 32, 63, 96, 99] {
      var changed = base
      changed[i] ^= 1
      #expect(seen.insert(fp(changed)).inserted, "byte \(i)")
    }
    #expect(seen.insert(fp(base + [0])).inserted, "a trailing zero")
    #expect(seen.insert(fp(Array(base.dropLast()))).inserted, "one byte shorter")
  }
}
