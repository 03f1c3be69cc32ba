// The sparse record index of flattened streams: streams of many records written in several
// interleaved lanes (as QEMU and makedumpfile -F write them) read exactly as their logical
// file, and the index kept in the cache is used when it matches and ignored when it does not.

import Foundation
import KdigBinary
import KdigDump
import KdigTestSupport
import Testing

/// A seeded generator: the same streams on every run.
private struct Lcg {
  var state: UInt64
  mutating func next(_ bound: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(bound))
  }
}

/// `logical` split into `lanes` contiguous lanes of records of 1..<maxRecord bytes, the
/// lanes' records interleaved in stream order.
private func laneStream(_ logical: [UInt8], lanes: Int, maxRecord: Int, seed: UInt64) -> [UInt8] {
  var rng = Lcg(state: seed)
  let laneSize = (logical.count + lanes - 1) / lanes
  var cursors = (0..<lanes).map { $0 * laneSize }
  var stream = FlattenedWriter.header()
  while true {
    let open = (0..<lanes).filter { cursors[$0] < min(logical.count, ($0 + 1) * laneSize) }
    guard !open.isEmpty else { break }
    let lane = open[rng.next(open.count)]
    let end = min(cursors[lane] + 1 + rng.next(maxRecord), min(logical.count, (lane + 1) * laneSize))
    stream += FlattenedWriter.record(offset: Int64(cursors[lane]), payload: Array(logical[cursors[lane]..<end]))
    cursors[lane] = end
  }
  return stream + FlattenedWriter.terminator
}

private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
  var rng = Lcg(state: seed)
  return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next(256)) }
}

private func read(_ f: FlattenedFile, _ at: Int, _ count: Int) throws -> [UInt8] {
  let v = try f.view(at: UInt64(at), count: count, "test bytes")
  return withExtendedLifetime(v) { Array(v.bytes) }
}

private func temporaryDirectory() throws -> URL {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-flat-index-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir
}

@Suite struct FlattenedIndexTests {
  @Test func interleavedLanesOfManyRecordsReadAsTheLogicalFile() throws {
    let logical = randomBytes(300_000, seed: 7)
    for (lanes, maxRecord) in [(1, 300), (2, 700), (3, 97), (5, 4096)] {
      let stream = laneStream(logical, lanes: lanes, maxRecord: maxRecord, seed: UInt64(lanes))
      let f = try FlattenedFile(file: KdumpBuilder.MemoryFile(name: "lanes.flat", bytes: stream))
      #expect(f.size == UInt64(logical.count))
      #expect(f.recordCount > 64, "several chunks")
      #expect(try read(f, 0, logical.count) == logical, "\(lanes) lanes")
      var rng = Lcg(state: 99)
      for _ in 0..<300 {
        let at = rng.next(logical.count)
        let count = min(logical.count - at, rng.next(9000))
        #expect(try read(f, at, count) == Array(logical[at..<(at + count)]), "\(lanes) lanes at \(at)")
      }
      // The index is sparse: far fewer bytes than one entry per record.
      #expect(f.indexBytes < f.recordCount * 24 / 4, "\(lanes) lanes: \(f.indexBytes) bytes")
    }
  }

  @Test func theCachedIndexIsUsedOnlyWhileItMatches() throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let logical = randomBytes(140_000, seed: 3)
    let stream = laneStream(logical, lanes: 2, maxRecord: 40, seed: 5)
    let dump = dir.appendingPathComponent("big.flat").path
    let root = dir.appendingPathComponent("cache").path
    #expect(FileManager.default.createFile(atPath: dump, contents: Data(stream)))

    let first = try FlattenedFile(file: MappedFile(path: dump), indexCacheRoot: root)
    #expect(first.recordCount >= 4096)
    #expect(!first.indexWasCached)
    let files = try FileManager.default.contentsOfDirectory(atPath: root + "/flat-index")
    #expect(files.count == 1)

    let second = try FlattenedFile(file: MappedFile(path: dump), indexCacheRoot: root)
    #expect(second.indexWasCached)
    #expect(second.recordCount == first.recordCount && second.size == first.size)
    #expect(try read(second, 0, logical.count) == logical)

    // A damaged index file is ignored (and rewritten).
    let index = root + "/flat-index/" + files[0]
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: index)))
    bytes[bytes.count / 2] ^= 0x40
    try Data(bytes).write(to: URL(fileURLWithPath: index))
    let third = try FlattenedFile(file: MappedFile(path: dump), indexCacheRoot: root)
    #expect(!third.indexWasCached)
    #expect(try read(third, 0, logical.count) == logical)
    #expect(try FlattenedFile(file: MappedFile(path: dump), indexCacheRoot: root).indexWasCached)

    // A changed dump (other bytes, other mtime) gets its own index.
    var changed = stream
    changed[stream.count - 20] ^= 0xff
    try Data(changed).write(to: URL(fileURLWithPath: dump))
    let fourth = try FlattenedFile(file: MappedFile(path: dump), indexCacheRoot: root)
    #expect(!fourth.indexWasCached)

    // No cache root: nothing is kept.
    let none = try FlattenedFile(file: MappedFile(path: dump), indexCacheRoot: nil)
    #expect(!none.indexWasCached)
  }
}
