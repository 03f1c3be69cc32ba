// Malformed compressed kdumps: truncation anywhere, impossible header fields and damaged
// descriptors or page data. Each is a KdigError naming the file and an offset (open time)
// or the physical address and file offsets (read time); nothing traps or hangs.

import KdigBinary
import KdigCodecs
import KdigDump
import KdigMemory
import KdigTestSupport
import Testing

/// The error opening `bytes` throws; records an issue if it opens.
private func openError(
  _ bytes: [UInt8], _ label: String, name: String = "bad.vmcore",
  sourceLocation: SourceLocation = #_sourceLocation
) -> (any KdigError)? {
  let file = KdumpBuilder.MemoryFile(name: name, bytes: bytes)
  do {
    _ = try openDump(source: file, path: name, fileSize: file.size)
    Issue.record("\(label): opened", sourceLocation: sourceLocation)
  } catch let error as any KdigError {
    #expect(error.description.contains(name), "\(label): \(error)", sourceLocation: sourceLocation)
    return error
  } catch {
    Issue.record("\(label): not a KdigError: \(error)", sourceLocation: sourceLocation)
  }
  return nil
}

/// Checks `label` fails to open with a malformed-input error that names an offset.
private func expectMalformed(
  _ bytes: [UInt8], _ label: String, offset: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
  guard let error = openError(bytes, label, sourceLocation: sourceLocation) else { return }
  #expect(error.category == .malformedInput, "\(label): \(error)", sourceLocation: sourceLocation)
  #expect(error.description.contains("offset"), "\(label): \(error)", sourceLocation: sourceLocation)
  if let offset {
    #expect((error as? BinaryError)?.offset == offset, "\(label): \(error)", sourceLocation: sourceLocation)
  }
}

@Suite struct KdumpMalformedTests {
  /// Built once: every test damages its own copy.
  static let fixture: BuiltKdump? = try? KdumpFixture.mixed().build()

  @Test func everyTruncationIsReportedAtOpen() throws {
    let built = try #require(Self.fixture)
    let bytes = built.bytes
    var cuts = Array(stride(from: 0, to: built.dataOffset + 600, by: 53))
    cuts += Array(stride(from: built.dataOffset, to: bytes.count, by: 997)) + [bytes.count - 1]
    for cut in cuts {
      expectMalformed(Array(bytes.prefix(cut)), "cut at \(cut) of \(bytes.count)")
    }
  }

  @Test func truncatedDataNamesTheLastPage() throws {
    let built = try #require(Self.fixture)
    let bytes = built.bytes
    let error = try #require(openError(Array(bytes.dropLast(10)), "cut data") as? BinaryError)
    #expect(error.description.contains("pfn 0x12b"))  // pfn 299, the last page
    #expect(error.offset == UInt64(try #require(built.dataOffsets[299])))
  }

  @Test func truncationIsFoundBehindTrailingZeroPages() throws {
    // The last descriptors point at the shared zero page, which comes first in the data.
    var b = KdumpFixture.mixed()
    for pfn in UInt64(290)..<300 { b.pages[pfn] = .zero }
    let built = try b.build()
    let error = try #require(openError(Array(built.bytes.dropLast(1)), "cut behind zero pages") as? BinaryError)
    #expect(error.description.contains("pfn 0x121"))  // pfn 289, the last page with data
    #expect(error.offset == UInt64(try #require(built.dataOffsets[289])))
  }

  @Test func incompleteDumpsMayEndEarly() throws {
    var b = KdumpFixture.mixed()
    for pfn in UInt64(280)..<300 { b.pages[pfn] = .lost }
    b.incompleteFlag = true
    var built = try b.build()
    // makedumpfile ran out of space: trailing descriptors are zero, the file ends with
    // the data of pfn 279.
    var dump = try built.open()
    #expect(dump.summary.incomplete)
    for pfn in [UInt64(280), 285, 299] {
      #expect(KdumpFixture.readError(dump, pfn * 4096)?.reason == .incomplete, "pfn \(pfn)")
    }
    #expect(try dump.bytes(at: 279 * 4096, count: 4096) == KdumpBuilder.samplePage(279))
    // Cut inside the descriptor table: still opens, and every page is "incomplete".
    let lostFrom = try #require(built.descriptorOffsets[280])
    built.bytes = Array(built.bytes.prefix(lostFrom + 30))
    dump = try built.open()
    for pfn in [UInt64(21), 279, 281, 299] {
      #expect(KdumpFixture.readError(dump, pfn * 4096)?.reason == .incomplete, "pfn \(pfn)")
    }
    // Without the flag the same file is refused at open.
    built.patch(424, UInt32(1))
    expectMalformed(built.bytes, "cut without the incomplete flag")
  }

  @Test func impossibleHeaderFields() throws {
    let built = try #require(Self.fixture)
    let cases: [(String, Int, [UInt8], UInt64?)] = [
      ("block_size 0", 428, le32(0), 428),
      ("block_size odd", 428, le32(4097), 428),
      ("block_size huge", 428, le32(1 << 20), 428),
      ("block_size negative", 428, le32(UInt32(bitPattern: -4096)), 428),
      ("header_version negative", 8, le32(UInt32(bitPattern: -1)), 8),
      ("sub_hdr_size negative", 432, le32(UInt32(bitPattern: -3)), 432),
      ("sub_hdr_size zero", 432, le32(0), 432),
      ("sub_hdr_size past EOF", 432, le32(0x7fff_ffff), nil),
      ("bitmap_blocks past EOF", 436, le32(0xffff_ffff), nil),
      ("bitmap_blocks zero", 436, le32(0), 436),
      ("max_mapnr_64 beyond the bitmaps", 4096 + 96, le64(2 * 8 * 4096 + 1), 436),
      ("max_mapnr_64 huge", 4096 + 96, le64(1 << 41), 4096 + 96),
      ("offset_note past EOF", 4096 + 48, le64(1 << 40), nil),
      ("size_note huge", 4096 + 56, le64(1 << 40), 4096 + 48),
      ("note namesz huge", 4096 + 104, le32(0x7fff_fff0), nil),
      ("split start > end", 4096 + 12, le32(1) + le64(9) + le64(3) + [UInt8](repeating: 0, count: 48) + le64(9) + le64(3), 4096 + 80),
      ("split end > max_mapnr", 4096 + 12, le32(1) + [UInt8](repeating: 0, count: 64) + le64(0) + le64(301), 4096 + 80),
    ]
    for (label, offset, patch, expectedOffset) in cases {
      var b = built
      b.patch(offset, bytes: patch)
      expectMalformed(b.bytes, label, offset: expectedOffset)
    }
  }

  @Test func wellFormedButUnsupported() throws {
    let built = try #require(Self.fixture)
    let cases: [(String, Int, [UInt8])] = [
      ("8 KiB pages", 428, le32(8192)), ("aarch64", 272, Array("aarch64".utf8)),
    ]
    for (label, offset, patch) in cases {
      var b = built
      b.patch(offset, bytes: patch)
      let error = openError(b.bytes, label)
      #expect(error?.category == .unsupported, "\(label)")
      #expect(error?.description.contains("offset") == true, "\(label)")
    }
  }

  /// Opens `built` and checks that reading `pfn` is a corrupt-data error naming the file,
  /// the address and the descriptor offset.
  private func expectCorrupt(_ built: BuiltKdump, _ pfn: UInt64, _ label: String, mentions: String? = nil) throws {
    let dump = try built.open(name: "damaged.vmcore")
    let error = try #require(KdumpFixture.readError(dump, pfn * 4096 + 5), "\(label)")
    guard case .corrupt(let why) = error.reason else {
      Issue.record("\(label): expected corrupt, got \(error)")
      return
    }
    #expect(error.category == .malformedInput)
    let text = error.description
    let desc = try #require(built.descriptorOffsets[pfn])
    #expect(text.contains("damaged.vmcore") && text.contains("0x\(hex(pfn * 4096 + 5))"), "\(label): \(text)")
    #expect(text.contains("offset 0x\(hex(UInt64(desc)))"), "\(label): \(text)")
    if let mentions { #expect(why.contains(mentions), "\(label): \(why)") }
    // The pages around it still read.
    #expect(try dump.bytes(at: (pfn + 1) * 4096, count: 8) == Array(KdumpBuilder.samplePage(pfn + 1).prefix(8)))
  }

  @Test func damagedDescriptors() throws {
    let built = try #require(Self.fixture)
    let pfn: UInt64 = 21  // zlib
    let d = try #require(built.descriptorOffsets[pfn])
    let raw: UInt64 = 20  // raw
    let rd = try #require(built.descriptorOffsets[raw])
    let cases: [(String, UInt64, Int, [UInt8], String)] = [
      ("size above a page", pfn, d + 8, le32(4097), "expected 1 to 4096"),
      ("size 0", pfn, d + 8, le32(0), "expected 1 to 4096"),
      ("raw page of the wrong size", raw, rd + 8, le32(4000), "expected 4096"),
      ("unknown flags", pfn, d + 12, le32(0x40), "flags 0x40"),
      ("two codec bits", pfn, d + 12, le32(0x3), "flags 0x3"),
      ("negative data offset", pfn, d, le64(UInt64(bitPattern: -4096)), "data offset -4096"),
      ("data past EOF", pfn, d, le64(1 << 40), "beyond the end"),
    ]
    for (label, target, offset, patch, mentions) in cases {
      var b = built
      b.patch(offset, bytes: patch)
      try expectCorrupt(b, target, label, mentions: mentions)
    }
  }

  @Test(arguments: PageCompression.allCases)
  func garbagePageData(codec: PageCompression) throws {
    let built = try #require(Self.fixture)
    let pfn = try #require(built.storedCodecs.filter { $0.value == codec }.keys.min())
    var b = built
    let at = try #require(b.dataOffsets[pfn])
    var rng = KdumpBuilder.SeededRandom(seed: pfn)
    b.patch(at, bytes: (0..<40).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
    try expectCorrupt(b, pfn, "garbage \(codec)", mentions: codec.rawValue)
  }

  @Test(arguments: [2048, 4096 + 1, 8192])
  func zlibDataOfTheWrongLength(length: Int) throws {
    let built = try #require(Self.fixture)
    // Point pfn 21's descriptor at a zlib stream appended to the file.
    let stream = try compressPage((0..<length).map { UInt8(truncatingIfNeeded: $0 / 7) }, codec: .zlib)
    var b = built
    let d = try #require(b.descriptorOffsets[21])
    b.patch(d, bytes: le64(UInt64(b.bytes.count)) + le32(UInt32(stream.count)) + le32(1))
    b.bytes += stream
    try expectCorrupt(b, 21, "zlib of \(length) bytes", mentions: "zlib")
  }

  @Test func randomDamageNeverTraps() throws {
    let built = try #require(Self.fixture)
    var rng = KdumpBuilder.SeededRandom(seed: 2024)
    let limit = built.dataOffset + 2048
    for round in 0..<150 {
      var b = built
      for _ in 0..<(1 + round % 6) {
        let at = Int(rng.next() % UInt64(limit))
        b.patch(at, bytes: [UInt8(truncatingIfNeeded: rng.next())])
      }
      guard let dump = try? b.open() else { continue }
      for pfn in stride(from: UInt64(0), to: 320, by: 7) {
        _ = try? dump.bytes(at: pfn * 4096, count: 4096)
      }
      _ = dump.ranges
    }
  }
}

private func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
private func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
