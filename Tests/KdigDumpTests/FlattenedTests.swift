// makedumpfile's flattened format: the logical file equals the plain file whatever the
// record layout (odd sizes, out of order, stale and later overlapping records, zero gaps,
// no terminator), the opener finds it by content, and malformed records name their offset.

import Foundation
import KdigBinary
import KdigDump
import KdigMemory
import KdigTestSupport
import Testing

private func flattened(_ bytes: [UInt8], name: String = "flat.vmcore") throws -> FlattenedFile {
  try FlattenedFile(file: KdumpBuilder.MemoryFile(name: name, bytes: bytes))
}

/// The bytes of `count` logical bytes at `offset`, copied while the view is alive.
private func bytes(_ f: FlattenedFile, at offset: UInt64, count: Int) throws -> [UInt8] {
  let view = try f.view(at: offset, count: count, "test bytes")
  #expect(view.fileOffset == offset)
  return withExtendedLifetime(view) { Array(view.bytes) }
}

private func logicalBytes(_ f: FlattenedFile) throws -> [UInt8] {
  try bytes(f, at: 0, count: Int(f.size))
}

@Suite struct FlattenedTests {
  static func writers() -> [(String, FlattenedWriter)] {
    var odd = FlattenedWriter()
    odd.recordSizes = [1, 7, 4093, 24, 100_000, 5]
    var reversed = FlattenedWriter()
    reversed.order = .reversed
    reversed.recordSizes = [3000]
    var interleaved = FlattenedWriter()
    interleaved.order = .interleaved
    interleaved.recordSizes = [512, 4096, 77]
    var sparse = FlattenedWriter()
    sparse.skipZeroChunks = true
    var stale = FlattenedWriter()
    stale.staleRecords = [(0, [UInt8](repeating: 0xEE, count: 9000)), (20_000, [0xEE, 0xEE])]
    var open = FlattenedWriter()
    open.writeTerminator = false
    return [
      ("default", FlattenedWriter()), ("odd sizes", odd), ("reversed", reversed),
      ("interleaved", interleaved), ("zero gaps", sparse), ("stale records", stale), ("no terminator", open),
    ]
  }

  @Test func logicalFileEqualsThePlainFile() throws {
    let plain = try KdumpFixture.mixed().build().bytes
    for (label, writer) in Self.writers() {
      let f = try flattened(writer.wrap(plain))
      #expect(f.size == UInt64(plain.count), "\(label)")
      #expect(try logicalBytes(f) == plain, "\(label)")
      #expect(f.hasTerminator == writer.writeTerminator, "\(label)")
      // Small reads at awkward places, zero-copy or assembled, agree too.
      for (at, count) in [(0, 8), (4095, 3), (4100, 10_000), (plain.count - 1, 1), (plain.count, 0)] {
        let got = try bytes(f, at: UInt64(at), count: count)
        #expect(got == Array(plain[at..<(at + count)]), "\(label) at \(at)")
      }
    }
  }

  @Test func flattenedDumpReadsLikeThePlainOne() throws {
    let built = try KdumpFixture.mixed().build()
    for (label, writer) in Self.writers() {
      let stream = writer.wrap(built.bytes)
      let file = KdumpBuilder.MemoryFile(name: "flat.vmcore", bytes: stream)
      let dump = try openDump(source: file, path: "flat.vmcore", fileSize: file.size)
      #expect(dump.summary.flattened, "\(label)")
      #expect(dump.summary.format == .kdumpCompressed)
      #expect(dump.fileSize == UInt64(stream.count))
      #expect(dump.notes.vmcoreinfo == KdumpFixture.vmcoreinfo)
      try KdumpFixture.expectAllPages(dump, built)
      #expect(KdumpFixture.readError(dump, 65 * 4096)?.reason == .excluded)
    }
  }

  @Test func openerDetectsFlattenedFilesByContent() throws {
    let built = try KdumpFixture.mixed().build()
    var writer = FlattenedWriter()
    writer.recordSizes = [333]
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-plain-\(getpid()).vmcore").path
    try Data(writer.wrap(built.bytes)).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dump = try openDump(path: path)
    #expect(dump.summary.flattened)
    try KdumpFixture.expectAllPages(dump, built)
  }

  @Test func laterRecordsWinAndGapsReadAsZero() throws {
    var stream = FlattenedWriter.header()
    stream += FlattenedWriter.record(offset: 0, payload: [UInt8](repeating: 1, count: 10))
    stream += FlattenedWriter.record(offset: 100, payload: [UInt8](repeating: 2, count: 10))
    stream += FlattenedWriter.record(offset: 5, payload: [UInt8](repeating: 3, count: 100))
    stream += FlattenedWriter.record(offset: 0, payload: [4])
    stream += FlattenedWriter.terminator
    stream += [0xFF, 0xFF]  // after the end marker: ignored
    let f = try flattened(stream)
    let expected: [UInt8] = [4] + [1, 1, 1, 1] + [UInt8](repeating: 3, count: 100) + [2, 2, 2, 2, 2]
    #expect(try logicalBytes(f) == expected)
    #expect(f.recordCount == 4)

    var gap = FlattenedWriter.header()
    gap += FlattenedWriter.record(offset: 0, payload: [9, 9])
    gap += FlattenedWriter.record(offset: 50, payload: [7])
    let g = try flattened(gap + FlattenedWriter.terminator)
    #expect(try logicalBytes(g) == [9, 9] + [UInt8](repeating: 0, count: 48) + [7])
  }

  @Test func malformedStreamsNameTheRecordOffset() throws {
    let h = FlattenedWriter.header()
    let good = FlattenedWriter.record(offset: 0, payload: [1, 2, 3, 4])
    let cases: [(String, [UInt8], UInt64)] = [
      ("negative size", h + FlattenedWriter.record(offset: 0, size: -5, payload: []), 4096 + 8),
      ("zero size", h + good + FlattenedWriter.record(offset: 8, size: 0, payload: []), 4096 + 20 + 8),
      ("negative offset", h + FlattenedWriter.record(offset: -2, payload: [1]), 4096),
      ("payload past EOF", h + FlattenedWriter.record(offset: 0, size: 100, payload: [1, 2]), 4096),
      ("huge payload", h + FlattenedWriter.record(offset: 0, size: .max, payload: [1]), 4096),
      ("cut record header", h + good + [0, 0, 0], 4096 + 20),
      ("cut payload", Array((h + good).dropLast()), 4096),
    ]
    for (label, stream, offset) in cases {
      let error = try #require(throws: BinaryError.self, "\(label)") { _ = try flattened(stream) }
      #expect(error.offset == offset, "\(label)")
      #expect(error.category == .malformedInput)
      #expect(error.description.contains("flat.vmcore") && error.description.contains("offset"), "\(label)")
    }
    #expect(throws: BinaryError.self) { _ = try flattened(Array(h.prefix(100))) }
    let wrongType = FlattenedWriter.header(type: 2) + good + FlattenedWriter.terminator
    let unsupported = try #require(throws: UnsupportedError.self) { _ = try flattened(wrongType) }
    #expect(unsupported.category == .unsupported)
    #expect(throws: UnsupportedError.self) {
      _ = try flattened(FlattenedWriter.header(version: 3) + good)
    }
  }

  @Test func readsPastTheLogicalEndFail() throws {
    let f = try flattened(FlattenedWriter().wrap([1, 2, 3]))
    #expect(f.size == 3)
    #expect(throws: BinaryError.self) { _ = try f.view(at: 2, count: 2, "two bytes") }
    #expect(throws: BinaryError.self) { _ = try f.view(at: .max, count: 1, "a byte") }
    #expect(throws: BinaryError.self) { _ = try f.view(at: 0, count: -1, "nothing") }
  }

  @Test func cutFlattenedDumpsFailToOpen() throws {
    let built = try KdumpFixture.mixed().build()
    var writer = FlattenedWriter()
    writer.recordSizes = [1500]
    let stream = writer.wrap(built.bytes)
    // Cut inside records and exactly between records (a stream without its end marker).
    var cuts = Array(stride(from: 4097, to: stream.count, by: 1499))
    cuts += [stream.count - 17, 4096 + (16 + 1500) * 40]
    for cut in cuts {
      let file = KdumpBuilder.MemoryFile(name: "cut.vmcore", bytes: Array(stream.prefix(cut)))
      do {
        _ = try openDump(source: file, path: "cut.vmcore", fileSize: file.size)
        Issue.record("a stream cut at \(cut) of \(stream.count) opened")
      } catch let error as any KdigError {
        #expect(error.category == .malformedInput, "cut at \(cut): \(error)")
        #expect(error.description.contains("cut.vmcore") && error.description.contains("offset"))
      }
    }
  }
}
