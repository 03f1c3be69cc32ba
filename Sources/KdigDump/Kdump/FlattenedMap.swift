// The logical file of a flattened stream as sorted, non-overlapping extents, one or more
// per record: used only for streams whose records overlap (FlattenedIndex handles the rest).
// Records may come in any order and overlap; where they overlap the later record wins (makedumpfile
// -R replays records in stream order; libkdumpfile flatmap.c addrxlat_map_set overwrites).
// A sweep over record boundaries with a max-heap on record order does this in
// O(n log n), so a stream of many records is not quadratic.

/// One stretch of the logical file backed by bytes of the flattened file.
struct FlatExtent: Equatable {
  /// Logical start and end (exclusive).
  var start: UInt64
  var end: UInt64
  /// Offset in the flattened file of the byte at `start`.
  var fileOffset: UInt64
}

/// A record as read from the stream; `order` is its position in the stream.
struct FlatRecord {
  var start: UInt64
  var end: UInt64
  var fileOffset: UInt64
  var order: Int
}

enum FlattenedMap {
  /// Extents of the logical file, ascending, the later record winning each byte.
  static func resolve(_ records: [FlatRecord]) -> [FlatExtent] {
    let sorted = records.sorted { $0.start != $1.start ? $0.start < $1.start : $0.order < $1.order }
    let points = Array(Set(records.flatMap { [$0.start, $0.end] })).sorted()
    if points.isEmpty { return [] }
    var out: [FlatExtent] = []
    var heap = MaxHeap()
    var next = 0
    for i in 0..<(points.count - 1) {
      let p = points[i]
      while next < sorted.count && sorted[next].start == p {
        heap.push(sorted[next])
        next += 1
      }
      while let top = heap.top, top.end <= p { heap.pop() }
      guard let winner = heap.top else { continue }
      // safe: p >= winner.start and the record's bytes lie inside the flattened file.
      let piece = FlatExtent(
        start: p, end: points[i + 1], fileOffset: winner.fileOffset + (p - winner.start))
      if let last = out.last, last.end == piece.start,
        last.fileOffset + (last.end - last.start) == piece.fileOffset
      {
        out[out.count - 1].end = piece.end
      } else {
        out.append(piece)
      }
    }
    return out
  }
}

/// A binary max-heap of records by stream order.
private struct MaxHeap {
  private var items: [FlatRecord] = []

  var top: FlatRecord? { items.first }

  mutating func push(_ r: FlatRecord) {
    items.append(r)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      guard items[parent].order < items[i].order else { break }
      items.swapAt(parent, i)
      i = parent
    }
  }

  mutating func pop() {
    guard !items.isEmpty else { return }
    items.swapAt(0, items.count - 1)
    items.removeLast()
    var i = 0
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var largest = i
      if l < items.count && items[l].order > items[largest].order { largest = l }
      if r < items.count && items[r].order > items[largest].order { largest = r }
      if largest == i { return }
      items.swapAt(i, largest)
      i = largest
    }
  }
}
