// Malformed BTF: every structural problem is a thrown error with a location, never a trap
// (truncations, bad header fields, ids out of range, string offsets past the end, cycles,
// absurd nesting), plus a seeded mutation sweep over a valid blob.

import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct TypesBTFMalformedTests {
  private func parse(_ bytes: [UInt8]) throws -> BTFTypes {
    try BTFTypes(bytes: ByteView.copying(bytes, file: "bad.btf", fileOffset: 0))
  }

  private func le32(_ v: UInt32) -> [UInt8] {
    [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
  }

  private func header(
    typeLen: UInt32, strOff: UInt32, strLen: UInt32, hdrLen: UInt32 = 24,
    magic: [UInt8] = [0x9f, 0xeb], version: UInt8 = 1
  ) -> [UInt8] {
    magic + [version, 0] + le32(hdrLen) + le32(0) + le32(typeLen) + le32(strOff) + le32(strLen)
  }

  @Test func headerProblems() throws {
    #expect(throws: BinaryError.self) { try parse([]) }
    #expect(throws: BinaryError.self) { try parse([0x9f, 0xeb, 1]) }
    let bigEndian = #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0, strLen: 1, magic: [0xeb, 0x9f]) + [0])
    }
    #expect(bigEndian?.found == "big-endian BTF")
    let badMagic = #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0, strLen: 1, magic: [0x7f, 0x45]) + [0])
    }
    #expect(badMagic?.offset == 0)
    #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0, strLen: 1, version: 2) + [0])
    }
    #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0, strLen: 1, hdrLen: 8) + [0])
    }
    #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0, strLen: 1, hdrLen: 0xffff_ffff) + [0])
    }
    // Sections past the end of the blob.
    let pastEnd = #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 100, strOff: 0, strLen: 1) + [0])
    }
    #expect(pastEnd?.description.contains("type section") == true)
    #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0xffff_fff0, strLen: 0x20) + [0])
    }
    // The string section must start and end with NUL.
    #expect(throws: BinaryError.self) {
      try parse(header(typeLen: 0, strOff: 0, strLen: 2) + [0, 0x41])
    }
    // An empty but well-formed blob is fine.
    let empty = try parse(header(typeLen: 0, strOff: 0, strLen: 1) + [0])
    #expect(empty.typeCount == 0)
    #expect(try empty.findType(TypeQuery(parsing: "int")) == nil)
  }

  @Test func truncatedRecords() throws {
    // A STRUCT claiming 3 members with bytes for one.
    var b = TypesBTFBuilder()
    let int = b.int("int", size: 4, signed: true)
    _ = b.structure("s", size: 12, [("a", int, 0, nil), ("b", int, 32, nil), ("c", int, 64, nil)])
    var blob = b.blob
    let typeLen = b.types.count - 24  // drop two members
    blob =
      header(typeLen: UInt32(typeLen), strOff: UInt32(typeLen), strLen: UInt32(b.strings.count))
      + Array(b.types.prefix(typeLen)) + b.strings
    let error = #expect(throws: BinaryError.self) { try parse(blob) }
    #expect(error?.description.contains("BTF type 2") == true)
    // A record cut inside its 12-byte header.
    let cut = header(typeLen: 6, strOff: 6, strLen: 1) + [1, 0, 0, 0, 0, 0] + [0]
    #expect(throws: BinaryError.self) { try parse(cut) }
  }

  @Test func unknownKinds() throws {
    for kind: UInt32 in [0, 20, 31] {
      var b = TypesBTFBuilder()
      b.raw([0, kind << 24, 0])
      let error = #expect(throws: BinaryError.self) { try parse(b.blob) }
      #expect(error?.found == "\(kind)")
      #expect(error?.offset == 28)  // info field of the first record: 24 + 4
    }
  }

  @Test func typeIdsOutOfRange() throws {
    var b = TypesBTFBuilder()
    _ = b.typedef("dangling", 99)
    let ptr = b.ptr(0x000f_ffff)
    _ = b.structure("holder", size: 8, [("p", ptr, 0, nil)])
    _ = b.structure("bad_member", size: 8, [("m", 1234, 0, nil)])
    _ = b.array(4321, index: 0, count: 2)
    _ = b.variable("v", 777)
    let btf = try parse(b.blob)
    let error = #expect(throws: BinaryError.self) { try btf.type(named: "dangling") }
    #expect(error?.found == "99")
    #expect(error?.expected == "a BTF type id between 1 and 6")
    #expect(throws: BinaryError.self) { try btf.type(named: "holder") }
    #expect(throws: BinaryError.self) { try btf.type(named: "bad_member") }
    #expect(throws: BinaryError.self) { try btf.convertForTest(5) }
    #expect(throws: BinaryError.self) { try btf.variableType("v") }
  }

  @Test func stringOffsetsPastTheEnd() throws {
    var b = TypesBTFBuilder()
    _ = b.int("int", size: 4, signed: true)
    b.raw([0x00ff_ffff, 8 << 24, 1])  // TYPEDEF whose name_off is far past the strings
    let btf = try parse(b.blob)
    let error = #expect(throws: BinaryError.self) { try btf.convertForTest(2) }
    #expect(error?.description.contains("name offset below the string section size") == true)
    // A member name offset past the end.
    var c = TypesBTFBuilder()
    let int = c.int("int", size: 4, signed: true)
    let s = c.str("s")
    c.raw([s, 4 << 24 | 1, 4])  // STRUCT s, 1 member…
    c.rawData([0x7fff_0000, int, 0])  // …named at offset 0x7fff0000
    let btf2 = try parse(c.blob)
    #expect(throws: BinaryError.self) { try btf2.type(named: "struct s") }
  }

  @Test func cyclesAndDepth() throws {
    var b = TypesBTFBuilder()
    // TYPEDEF a → TYPEDEF b → TYPEDEF a (ids 1 and 2).
    let (loopA, loopB, selfName, s, node, next) = (
      b.str("loop_a"), b.str("loop_b"), b.str("self"), b.str("s"), b.str("node"), b.str("next")
    )
    b.raw([loopA, 8 << 24, 2])
    b.raw([loopB, 8 << 24, 1])
    // struct self { struct self s; } embeds itself (id 3).
    b.raw([selfName, 4 << 24 | 1, 8])
    b.rawData([s, 3, 0])
    // A pointer cycle is fine: struct node { struct node *next; } (ids 4, 5).
    b.raw([node, 4 << 24 | 1, 8])
    b.rawData([next, 5, 0])
    b.raw([0, 2 << 24, 4])
    // A chain of 1000 CONSTs ending at int: deeper than any real type (ids 6…1006).
    for i in 0..<1000 { b.raw([0, 10 << 24, UInt32(7 + i)]) }
    _ = b.int("int", size: 4, signed: true)
    let btf = try parse(b.blob)
    let loop = #expect(throws: BinaryError.self) { try btf.type(named: "loop_a") }
    #expect(loop?.found == "a cycle")
    #expect(throws: BinaryError.self) { try btf.type(named: "struct self") }
    #expect(
      try btf.type(named: "struct node").aggregate?.members?.first?.type.name == "struct node *")
    let deep = #expect(throws: BinaryError.self) { try btf.convertForTest(6) }
    #expect(deep?.found?.contains("nesting deeper") == true)
  }

  @Test func notATypeAndHugeArrays() throws {
    var b = TypesBTFBuilder()
    let int = b.int("int", size: 4, signed: true)
    let sec = b.dataSection(".data..percpu", size: 0, [])
    _ = b.typedef("sec_alias", sec)
    let huge = b.array(int, index: int, count: 0xffff_ffff)
    let huger = b.array(huge, index: int, count: 0xffff_ffff)
    _ = b.typedef("huge_t", huger)
    let btf = try parse(b.blob)
    #expect(throws: BinaryError.self) { try btf.type(named: "sec_alias") }
    // 4 × 2^32 × 2^32 bytes does not fit: no size, no trap.
    #expect(try btf.type(named: "huge_t").byteSize == nil)
    #expect(throws: KernelTypeError.self) { try btf.sizeof("huge_t") }
    #expect(throws: KernelTypeError.self) {
      try btf.member(of: try btf.type(named: "huge_t"), path: "[0xffffffff][0xffffffff]")
    }
  }

  /// Seeded mutations of a valid blob: each one parses or throws, and every lookup on
  /// the result returns or throws. A trap here fails the whole test run.
  @Test func mutationSweepNeverTraps() throws {
    let valid = TypesBTFTests.kitchenSink().blob
    var rng = TypesSplitMix64(seed: 0x6b64_6967)
    let names = [
      "gate_struct", "mm_struct", "struct mm_struct", "ops", "color", "gate_desc", "oldbits", "u16",
    ]
    var parsed = 0
    for round in 0..<1500 {
      var blob = valid
      switch round % 3 {
      case 0:
        let i = Int(rng.next() % UInt64(blob.count))
        blob[i] = UInt8(truncatingIfNeeded: rng.next())
      case 1:
        for _ in 0..<4 {
          let i = 24 + Int(rng.next() % UInt64(blob.count - 24))
          blob[i] ^= UInt8(1 << (rng.next() % 8))
        }
      default:
        blob = Array(blob.prefix(Int(rng.next() % UInt64(blob.count))))
      }
      guard let btf = try? parse(blob) else { continue }
      parsed += 1
      for name in names {
        if let t = try? btf.findType(TypeQuery(parsing: name)) {
          _ = t.name
          _ = t.byteSize
          if let a = t.aggregate {
            _ = a.flattenedMembers
            _ = try? btf.complete(a)
          }
        }
      }
      _ = try? btf.enumValue("GREEN")
      _ = try? btf.offsetof("mm_struct.flags")
      _ = try? btf.variableType("cpu_tss_rw")
    }
    #expect(parsed > 100)
  }
}

/// A tiny deterministic generator for the mutation sweep.
struct TypesSplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15  // wrapping by design (TypesSplitMix64)
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}
