// makedumpfile's flattened format (`makedumpfile -F`, QEMU kdump-zlib/lzo/snappy):
// a 4096-byte header, then records {BE int64 offset, BE int64 size, payload} ending with
// offset -1 (makedumpfile.h:1460-1478, IMPLEMENTATION; dump-formats.md §1.10). The
// records are scanned once at open into a sparse index (FlattenedIndex.swift: about one
// entry per 32 records), kept in kdig's cache for large streams (FlattenedIndexCache.swift);
// reads of the logical file are zero-copy when one record covers them, and bytes no record
// wrote read as zero (crash read_flattened_format).

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
  /// True when the record index came from kdig's cache (FlattenedIndexCache) and no
  /// record header was scanned.
  public let indexWasCached: Bool

  private let file: ByteSource
  private let layout: FlatLayout
  private let chunks = FlatChunkCache()
  /// Largest read assembled into a copy: a stream cannot hold more bytes than its file.
  private let maxCopy: UInt64

  /// True when `head` starts with the flattened-format signature.
  public static func hasSignature(_ head: ByteView) -> Bool {
    head.matches(signature, at: 0)
  }

  /// Scans the records of the flattened stream in `file`, or loads their index from kdig's
  /// cache (`indexCacheRoot`; nil: none) when the stream was opened before.
  public init(file: ByteSource, indexCacheRoot: String? = CacheDirectory.root) throws {
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
    let cache = (file as? MappedFile).flatMap { FlattenedIndexCache(file: $0, root: indexCacheRoot) }
    let found: FlatScanResult
    if let saved = cache?.load() {
      found = saved
      indexWasCached = true
    } else {
      found = try Self.index(file)
      indexWasCached = false
      if found.recordCount >= FlattenedIndexCache.minRecords { cache?.save(found) }
    }
    // NOTE: a stream that ends on a record boundary without the -1 marker is accepted
    // (makedumpfile -R and libkdumpfile refuse it); `hasTerminator` tells callers.
    hasTerminator = found.hasTerminator
    recordCount = found.recordCount
    size = found.size
    layout = found.layout
    maxCopy = max(file.size, 64 << 20)
  }

  /// Scans every record header once: the sparse index, or the exact map when records overlap.
  private static func index(_ file: ByteSource) throws(BinaryError) -> FlatScanResult {
    var builder = FlatPieceBuilder()
    var count = 0
    var end: UInt64 = 0
    let terminated = try scan(file) { header, record in
      builder.add(start: record.start, end: record.end, headerOffset: header)
      count += 1
      end = max(end, record.end)
    }
    if let pieces = builder.finish() {
      return FlatScanResult(recordCount: count, size: end, hasTerminator: terminated, layout: .sparse(pieces))
    }
    // Overlapping records: a second pass keeps every record to resolve who wins.
    var records: [FlatRecord] = []
    _ = try scan(file) { _, r in
      records.append(FlatRecord(start: r.start, end: r.end, fileOffset: r.fileOffset, order: records.count))
    }
    return FlatScanResult(
      recordCount: count, size: end, hasTerminator: terminated, layout: .exact(FlattenedMap.resolve(records)))
  }

  /// Bytes the record index holds in memory.
  public var indexBytes: Int { layout.indexBytes }

  /// Calls `body` with each record's header offset and extent in stream order; returns
  /// whether the end marker was found.
  private static func scan(_ file: ByteSource, _ body: (UInt64, FlatExtent) -> Void) throws(BinaryError) -> Bool {
    var pos = headerSize
    while let record = try record(at: pos, in: file) {
      body(pos, record)
      pos = record.fileOffset + (record.end - record.start)  // inside the file: checked by record(at:)
    }
    return pos < file.size
  }

  /// The offset and size fields of the record header at `pos` (16 bytes inside the file). A
  /// mapped stream's headers are read with pread: touching them through the mapping would
  /// make the pages around every header resident, the whole stream for 16 KiB records.
  private static func header(at pos: UInt64, in file: ByteSource) throws(BinaryError) -> (Int64, Int64) {
    if let mapped = file as? MappedFile {
      var raw = (UInt64(0), UInt64(0))
      let ok = withUnsafeMutableBytes(of: &raw) { mapped.copyBytes(at: pos, into: $0) }
      guard ok else {
        throw BinaryError(file: file.name, offset: pos, expected: "a 16-byte flattened record header (read failed)")
      }
      return (Int64(bitPattern: UInt64(bigEndian: raw.0)), Int64(bitPattern: UInt64(bigEndian: raw.1)))
    }
    let h = try file.view(at: pos, count: 16, "flattened record header")
    return (try h.read(Int64.self, at: 0, .big, "record offset"), try h.read(Int64.self, at: 8, .big, "record size"))
  }

  /// The record whose header is at `pos`, checked against the file; nil at the end marker
  /// (offset -1) or at the end of the file.
  static func record(at pos: UInt64, in file: ByteSource) throws(BinaryError) -> FlatExtent? {
    guard pos < file.size else { return nil }
    let left = file.size - pos
    guard left >= recordHeaderSize else {
      throw BinaryError(
        file: file.name, offset: pos, expected: "a 16-byte flattened record header",
        found: "\(left) bytes before the end of the file")
    }
    let (offset, size) = try header(at: pos, in: file)
    if offset == -1 { return nil }  // END_FLAG_FLAT_HEADER
    guard offset >= 0 else {
      throw BinaryError(
        file: file.name, offset: pos, expected: "a record offset >= 0 or the end marker -1",
        found: "\(offset)")
    }
    guard size > 0 else {
      throw BinaryError(
        file: file.name, offset: pos + 8, expected: "a record size greater than 0", found: "\(size)")
    }
    let payload = pos + recordHeaderSize
    guard UInt64(size) <= file.size - payload else {
      throw BinaryError(
        file: file.name, offset: pos,
        expected: "a record payload of \(size) bytes (for logical offset 0x\(hex(UInt64(offset))))",
        found: "\(file.size - payload) bytes before the end of the file")
    }
    // Both are below 2^63, so neither sum overflows.
    return FlatExtent(start: UInt64(offset), end: UInt64(offset) + UInt64(size), fileOffset: payload)
  }

  /// `count` logical bytes at `offset`: zero-copy inside one record, else assembled.
  public func view(at offset: UInt64, count: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> ByteView
  {
    guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
      throw pastEnd(offset, count, what())
    }
    let end = offset + UInt64(count)
    let pieces = try layout.segments(offset..<end, in: file, chunks: chunks)
    if let e = pieces.first, pieces.count == 1, e.start == offset, e.end == end {
      let v = try file.view(at: e.fileOffset, count: count, what())
      return ByteView(bytes: v.bytes, owner: v.owner, file: name, fileOffset: offset)
    }
    guard UInt64(count) <= maxCopy else {
      throw BinaryError(
        file: name, offset: offset,
        expected: "\(what()) of at most \(maxCopy) bytes assembled from records", found: "\(count)")
    }
    // Bytes no record wrote stay zero. A mapped stream is copied with pread: the copy is all
    // the memory a large read (a 32 MiB bitmap of a 1 TiB machine) costs, not twice that.
    let box = ByteBox(zeroedCount: count)
    for e in pieces {
      if let mapped = file as? MappedFile, let dst = box.mutableBuffer.baseAddress {
        let into = UnsafeMutableRawBufferPointer(start: dst + Int(e.start - offset), count: Int(e.end - e.start))
        if mapped.copyBytes(at: e.fileOffset, into: into) { continue }
      }
      let v = try file.view(at: e.fileOffset, count: Int(e.end - e.start), what())
      withExtendedLifetime(v) {
        if let dst = box.mutableBuffer.baseAddress, let src = v.bytes.baseAddress {
          (dst + Int(e.start - offset)).copyMemory(from: src, byteCount: v.count)
        }
      }
    }
    return ByteView(bytes: box.buffer, owner: box, file: name, fileOffset: offset)
  }
}
