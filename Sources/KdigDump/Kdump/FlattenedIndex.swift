// The sparse record index of a flattened stream, so that opening a 1 TiB machine's dump does
// not keep one entry per record. Writers emit records in a few ascending lanes (QEMU: bitmap 1
// and 2, then descriptors and page data; makedumpfile -F: descriptors and page data), each
// record starting where the previous one of its lane ended. The stream is cut into chunks of
// `recordsPerChunk` records; within a chunk, records that continue each other form one piece
// {logical start, end, file offset of the chunk's first record header}. A lookup finds the
// pieces by binary search and walks at most `recordsPerChunk` headers of each piece's chunk.
// Streams whose records overlap (neither QEMU nor makedumpfile writes them) keep the exact
// extents of FlattenedMap instead.

import KdigBinary

/// Logical bytes [start, end) written by records of one chunk that continue each other.
struct FlatPiece: Equatable {
  var start: UInt64
  var end: UInt64
  /// File offset of the header of the chunk's first record, where a lookup starts walking.
  var chunkOffset: UInt64
}

/// Collects the pieces while the records are scanned in stream order.
struct FlatPieceBuilder {
  /// Records per chunk: the most headers one lookup reads (with pread, about 15 µs), and
  /// the index holds about one piece per lane per chunk: under 2 bytes per record.
  static let recordsPerChunk = 32

  private(set) var pieces: [FlatPiece] = []
  private var chunkOffset: UInt64 = 0
  private var recordsInChunk = recordsPerChunk
  private var chunkFirstPiece = 0

  /// Adds the record whose header is at `headerOffset` and which writes [start, end).
  mutating func add(start: UInt64, end: UInt64, headerOffset: UInt64) {
    if recordsInChunk == Self.recordsPerChunk {
      chunkOffset = headerOffset
      recordsInChunk = 0
      chunkFirstPiece = pieces.count
    }
    recordsInChunk += 1
    // A chunk has at most recordsPerChunk pieces: this search is bounded.
    var i = pieces.count
    while i > chunkFirstPiece {
      i -= 1
      if pieces[i].end == start {
        pieces[i].end = end
        return
      }
    }
    pieces.append(FlatPiece(start: start, end: end, chunkOffset: chunkOffset))
  }

  /// The pieces sorted by logical start (in place: no second copy of a large index), or nil
  /// when two overlap (the exact map is needed).
  mutating func finish() -> [FlatPiece]? {
    pieces.sort { $0.start < $1.start }
    var i = 1
    while i < pieces.count {
      if pieces[i].start < pieces[i - 1].end { return nil }
      i += 1
    }
    return pieces
  }
}

/// Where the logical bytes of a flattened stream are.
enum FlatLayout {
  /// Non-overlapping records, indexed sparsely.
  case sparse([FlatPiece])
  /// Overlapping records, resolved to exact extents (later record wins).
  case exact([FlatExtent])

  /// Bytes the index holds in memory (for the benchmark's size estimates).
  var indexBytes: Int {
    switch self {
    case .sparse(let p): p.count * MemoryLayout<FlatPiece>.stride
    case .exact(let e): e.count * MemoryLayout<FlatExtent>.stride
    }
  }

  /// The stretches of `range` that records wrote, ascending, clipped to `range`.
  func segments(_ range: Range<UInt64>, in file: ByteSource, chunks: FlatChunkCache) throws(BinaryError)
    -> [FlatExtent]
  {
    var out: [FlatExtent] = []
    switch self {
    case .exact(let extents):
      var i = Self.firstIndex(extents.count) { extents[$0].end > range.lowerBound }
      while i < extents.count, extents[i].start < range.upperBound {
        if let s = Self.clip(extents[i], to: range) { out.append(s) }
        i += 1
      }
    case .sparse(let pieces):
      var i = Self.firstIndex(pieces.count) { pieces[$0].end > range.lowerBound }
      while i < pieces.count, pieces[i].start < range.upperBound {
        let p = pieces[i]
        let wanted = max(p.start, range.lowerBound)..<min(p.end, range.upperBound)
        var covered: UInt64 = 0
        for record in try chunks.records(at: p.chunkOffset, in: file) {
          if let s = Self.clip(record, to: wanted) {
            out.append(s)
            covered += s.end - s.start
          }
        }
        // The piece's records are disjoint and continue each other: they cover it whole,
        // unless the stream changed since the index was made.
        guard covered == wanted.upperBound - wanted.lowerBound else {
          throw BinaryError(
            file: file.name, offset: p.chunkOffset,
            expected: "flattened records covering logical 0x\(hex(wanted.lowerBound))..<0x\(hex(wanted.upperBound)) "
              + "in the \(FlatPieceBuilder.recordsPerChunk) records from here (the record index)",
            found: "0x\(hex(covered)) bytes of them")
        }
        i += 1
      }
    }
    return out
  }

  /// The part of `e` inside `range`, with its file offset moved along; nil when they do not meet.
  private static func clip(_ e: FlatExtent, to range: Range<UInt64>) -> FlatExtent? {
    let from = max(e.start, range.lowerBound)
    let to = min(e.end, range.upperBound)
    guard from < to else { return nil }
    return FlatExtent(start: from, end: to, fileOffset: e.fileOffset + (from - e.start))
  }

  /// The first index in 0..<count for which `isPast` holds (it must be monotonic).
  private static func firstIndex(_ count: Int, _ isPast: (Int) -> Bool) -> Int {
    var lo = 0
    var hi = count
    while lo < hi {
      let mid = lo + (hi - lo) / 2
      if isPast(mid) { hi = mid } else { lo = mid + 1 }
    }
    return lo
  }
}

/// The records of the chunks walked last, direct-mapped on the chunk offset: neighbouring
/// reads (descriptors of nearby pfns, then their page data) walk a chunk's headers once.
/// Like PageCache, for one thread at a time.
final class FlatChunkCache {
  private static let slots = 16
  private var offsets = [UInt64](repeating: .max, count: slots)
  private var records = [[FlatExtent]](repeating: [], count: slots)

  /// The records of the chunk whose first header is at `offset`, each header checked as the
  /// open-time scan did (the file may have changed since).
  func records(at offset: UInt64, in file: ByteSource) throws(BinaryError) -> [FlatExtent] {
    let slot = Int(truncatingIfNeeded: (offset >> 4) ^ (offset >> 14)) & (Self.slots - 1)
    if offsets[slot] == offset { return records[slot] }
    var found: [FlatExtent] = []
    var pos = offset
    for _ in 0..<FlatPieceBuilder.recordsPerChunk {
      guard let record = try FlattenedFile.record(at: pos, in: file) else { break }
      found.append(record)
      pos = record.fileOffset + (record.end - record.start)  // inside the file: checked by record(at:)
    }
    offsets[slot] = offset
    records[slot] = found
    return found
  }
}
