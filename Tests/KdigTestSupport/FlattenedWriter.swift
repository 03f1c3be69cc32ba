// Wraps a logical file as makedumpfile's flattened stream (`makedumpfile -F`, dump-formats.md
// §1.10): the 4096-byte header, then {BE offset, BE size, payload} records, then the -1
// terminator. Options make the awkward streams a reader must handle: records cut at odd
// sizes, out of order, stale records overwritten by later ones, zero gaps, no terminator.

/// Builds flattened streams from byte arrays.
public struct FlattenedWriter {
  /// The order data records are written in.
  public enum Order: Sendable {
    case forward
    case reversed
    /// Even-numbered chunks first, then odd ones.
    case interleaved
  }

  /// Chunk sizes, used in turn until the logical file is covered.
  public var recordSizes: [Int] = [4096]
  public var order = Order.forward
  /// Records written before the data; the data records overwrite them.
  public var staleRecords: [(offset: Int, bytes: [UInt8])] = []
  /// Records written after the data; they overwrite it.
  public var laterRecords: [(offset: Int, bytes: [UInt8])] = []
  /// Leaves out all-zero chunks (never-written bytes read as zero); the last chunk is
  /// always written so the logical size is kept.
  public var skipZeroChunks = false
  /// Writes the offset -1 end marker.
  public var writeTerminator = true

  /// A writer with default options: 4096-byte records in order, with the terminator.
  public init() {}

  /// The flattened stream holding `logical`.
  public func wrap(_ logical: [UInt8]) -> [UInt8] {
    var chunks: [Range<Int>] = []
    var at = 0
    var i = 0
    while at < logical.count {
      let size = max(1, recordSizes.isEmpty ? 4096 : recordSizes[i % recordSizes.count])
      chunks.append(at..<min(logical.count, at + size))
      at += size
      i += 1
    }
    if skipZeroChunks {
      let last = chunks.last
      chunks = chunks.filter { $0 == last || logical[$0].contains { $0 != 0 } }
    }
    switch order {
    case .forward: break
    case .reversed: chunks.reverse()
    case .interleaved:
      chunks = chunks.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        + chunks.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    }
    var out = Self.header()
    for r in staleRecords { out += Self.record(offset: Int64(r.offset), payload: r.bytes) }
    for c in chunks { out += Self.record(offset: Int64(c.lowerBound), payload: Array(logical[c])) }
    for r in laterRecords { out += Self.record(offset: Int64(r.offset), payload: r.bytes) }
    if writeTerminator { out += Self.terminator }
    return out
  }

  /// The 4096-byte header: "makedumpfile", BE type and version.
  public static func header(type: Int64 = 1, version: Int64 = 1) -> [UInt8] {
    var h = Array("makedumpfile".utf8) + [UInt8](repeating: 0, count: 4)
    h += be(type) + be(version)
    return h + [UInt8](repeating: 0, count: 4096 - h.count)
  }

  /// One record; `size` defaults to the payload's length.
  public static func record(offset: Int64, size: Int64? = nil, payload: [UInt8]) -> [UInt8] {
    be(offset) + be(size ?? Int64(payload.count)) + payload
  }

  /// The end marker: offset -1, size -1.
  public static let terminator = be(Int64(-1)) + be(Int64(-1))

  private static func be(_ v: Int64) -> [UInt8] {
    withUnsafeBytes(of: v.bigEndian) { Array($0) }
  }
}
