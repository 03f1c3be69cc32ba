// makedumpfile's flattened format (`makedumpfile -F`, QEMU kdump-zlib/lzo/snappy):
// a 4096-byte header, then records {BE int64 offset, BE int64 size, payload} ending with
// offset -1 (makedumpfile.h:1460-1478, IMPLEMENTATION; dump-formats.md §1.10). The
// records are scanned once at open; reads of the logical file are zero-copy when one
// record covers them, and bytes no record wrote read as zero (crash read_flattened_format).

import KdigBinary

/// The logical (rearranged) file held by a flattened stream.
public final class FlattenedFile: ByteSource {
  /// MAX_SIZE_MDF_HEADER.
  static let headerSize: UInt64 = 4096
  /// "makedumpfile" and the NUL after it (SIG_LEN_MDF = 16, zero padded).
  static let signature = Array("makedumpfile".utf8) + [0]
  /// A record header: offset and buf_size, both big-endian int64.
  static let recordHeaderSize: UInt64 = 16

  /// The stream's file name with " (flattened)": offsets in errors are logical ones.
  public let name: String
  /// One past the last logical byte any record wrote.
  public let size: UInt64
  /// False when the stream stopped after a whole record without the offset -1 marker.
  public let hasTerminator: Bool
  /// Number of data records in the stream.
  public let recordCount: Int

  private let file: ByteSource
  private let extents: [FlatExtent]
  /// Largest read assembled into a copy: a stream cannot hold more bytes than its file.
  private let maxCopy: UInt64

  /// True when `head` starts with the flattened-format signature.
  public static func hasSignature(_ head: ByteView) -> Bool {
    head.matches(signature, at: 0)
  }

  /// Scans the records of the flattened stream in `file`.
  public init(file: ByteSource) throws {
    self.file = file
    name = "\(file.name) (flattened)"
    let head = try file.view(at: 0, count: Int(Self.headerSize), "the 4096-byte flattened-format header")
    guard head.matches(Self.signature, at: 0) else {
      throw BinaryError(file: file.name, offset: 0, expected: "signature \"makedumpfile\"")
    }
    let type = try head.read(Int64.self, at: 16, .big, "flat header type")
    let version = try head.read(Int64.self, at: 24, .big, "flat header version")
    guard type == 1, version == 1 else {
      throw UnsupportedError(
        file: file.name,
        reason: "offset 0x10: flattened header type \(type) version \(version); kdig reads "
          + "type 1 (TYPE_FLAT_HEADER) version 1")
    }
    var records: [FlatRecord] = []
    var pos = Self.headerSize
    var terminated = false
    while pos < file.size {
      let left = file.size - pos
      guard left >= Self.recordHeaderSize else {
        throw BinaryError(
          file: file.name, offset: pos, expected: "a 16-byte flattened record header",
          found: "\(left) bytes before the end of the file")
      }
      let h = try file.view(at: pos, count: 16, "flattened record header")
      let offset = try h.read(Int64.self, at: 0, .big, "record offset")
      if offset == -1 {  // END_FLAG_FLAT_HEADER
        terminated = true
        break
      }
      let size = try h.read(Int64.self, at: 8, .big, "record size")
      guard offset >= 0 else {
        throw BinaryError(
          file: file.name, offset: pos, expected: "a record offset >= 0 or the end marker -1",
          found: "\(offset)")
      }
      guard size > 0 else {
        throw BinaryError(
          file: file.name, offset: pos + 8, expected: "a record size greater than 0", found: "\(size)")
      }
      let payload = pos + Self.recordHeaderSize
      guard UInt64(size) <= file.size - payload else {
        throw BinaryError(
          file: file.name, offset: pos,
          expected: "a record payload of \(size) bytes (for logical offset 0x\(hex(UInt64(offset))))",
          found: "\(file.size - payload) bytes before the end of the file")
      }
      // Both are below 2^63, so neither sum overflows.
      records.append(
        FlatRecord(
          start: UInt64(offset), end: UInt64(offset) + UInt64(size), fileOffset: payload,
          order: records.count))
      pos = payload + UInt64(size)
    }
    // NOTE: a stream that ends on a record boundary without the -1 marker is accepted
    // (makedumpfile -R and libkdumpfile refuse it); `hasTerminator` tells callers.
    hasTerminator = terminated
    recordCount = records.count
    size = records.map(\.end).max() ?? 0
    extents = FlattenedMap.resolve(records)
    maxCopy = max(file.size, 64 << 20)
  }

  /// `count` logical bytes at `offset`: zero-copy inside one record, else assembled.
  public func view(at offset: UInt64, count: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> ByteView
  {
    guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
      throw pastEnd(offset, count, what())
    }
    let end = offset + UInt64(count)
    var i = firstExtent(endingAfter: offset)
    if i < extents.count, extents[i].start <= offset, end <= extents[i].end {
      let e = extents[i]
      let v = try file.view(at: e.fileOffset + (offset - e.start), count: count, what())
      return ByteView(bytes: v.bytes, owner: v.owner, file: name, fileOffset: offset)
    }
    guard UInt64(count) <= maxCopy else {
      throw BinaryError(
        file: name, offset: offset,
        expected: "\(what()) of at most \(maxCopy) bytes assembled from records", found: "\(count)")
    }
    let box = ByteBox(zeroedCount: count)
    while i < extents.count, extents[i].start < end {
      let e = extents[i]
      let from = max(offset, e.start)
      let to = min(end, e.end)
      let v = try file.view(at: e.fileOffset + (from - e.start), count: Int(to - from), what())
      withExtendedLifetime(v) {
        if let dst = box.mutableBuffer.baseAddress, let src = v.bytes.baseAddress {
          (dst + Int(from - offset)).copyMemory(from: src, byteCount: v.count)
        }
      }
      i += 1
    }
    return ByteView(bytes: box.buffer, owner: box, file: name, fileOffset: offset)
  }

  /// Index of the first extent whose end is past `offset` (binary search).
  private func firstExtent(endingAfter offset: UInt64) -> Int {
    var lo = 0
    var hi = extents.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if extents[mid].end <= offset { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }
}
