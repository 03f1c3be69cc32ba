// The sparse index of a large flattened stream, kept in kdig's cache so that opening the same
// file again reads no record headers (a 1 TiB machine's stream has millions of records):
// ${KDIG_CACHE:-$HOME/.cache/kdig}/flat-index/<key>.idx, the key a hash of the file's
// device, inode, size, modification and change times and its first and last 64 KiB.
// Little-endian u64s:
//
//   magic "KDIGFLX1", version, device, inode, size, mtime s, mtime ns, ctime s, ctime ns,
//   content hash, records per chunk, record count, logical size, end marker (0/1), piece count n,
//   n × (start, end, chunk offset), checksum of every word before it
//
// Nothing in it is trusted blindly: a file whose stamp, sizes or checksum do not match, or
// whose pieces are not sorted, disjoint and inside the stream, is ignored (the stream is
// scanned again and the file rewritten); a lookup still checks every record header it walks
// and that the walk covers its piece. Writes go to a temporary file renamed over the old one.

import KdigBinary

#if canImport(Glibc)
  import Glibc
#endif

/// What a scan of a flattened stream found.
struct FlatScanResult {
  var recordCount: Int
  var size: UInt64
  var hasTerminator: Bool
  var layout: FlatLayout
}

/// The cache file of one flattened stream's sparse index.
struct FlattenedIndexCache {
  /// Streams with fewer records scan in about a millisecond and are not kept.
  static let minRecords = 4096
  /// "KDIGFLX1" read as a little-endian u64.
  static let magic: UInt64 = 0x3158_4C46_4749_444B
  static let version: UInt64 = 1
  /// An index file larger than this is not read (44 M pieces: beyond any real stream).
  static let maxFileBytes = 1 << 30
  /// Bytes hashed at each end of the stream for the key.
  static let hashedBytes = 64 << 10

  let directory: String
  let path: String
  /// Words 0 ..< 11 of the file: what must match before anything else is read.
  let head: [UInt64]
  let fileSize: UInt64

  /// The cache file for `file` under `root` (default: kdig's cache); nil without a cache.
  init?(file: MappedFile, root: String? = CacheDirectory.root) {
    guard let root else { return nil }
    let s = file.stamp
    head = [
      Self.magic, Self.version, s.device, s.inode, s.size, UInt64(bitPattern: s.modifiedSeconds),
      UInt64(bitPattern: s.modifiedNanoseconds), UInt64(bitPattern: s.changedSeconds),
      UInt64(bitPattern: s.changedNanoseconds), Self.contentHash(file),
      UInt64(FlatPieceBuilder.recordsPerChunk),
    ]
    fileSize = s.size
    directory = "\(root)/flat-index"
    path = "\(directory)/\(hexPadded(IndexChecksum.of(head), width: 16)).idx"
  }

  /// The saved index, or nil when there is none or it does not hold up. Read in blocks, so
  /// loading costs the pieces' memory and no copy of the file.
  func load() -> FlatScanResult? {
    guard let reader = WordReader(path: path, maxBytes: Self.maxFileBytes) else { return nil }
    var sum = IndexChecksum()
    guard let fixed = reader.next(head.count + 4), fixed.count == head.count + 4,
      Array(fixed[0..<head.count]) == head
    else { return nil }
    sum.add(fixed)
    let records = fixed[head.count]
    let size = fixed[head.count + 1]
    let terminated = fixed[head.count + 2]
    let n = fixed[head.count + 3]
    guard records <= UInt64(Int.max), terminated <= 1, n <= records, n <= reader.wordCount,
      reader.wordCount == UInt64(head.count + 4) + 3 * n + 1  // n <= wordCount: no overflow
    else { return nil }
    var pieces: [FlatPiece] = []
    pieces.reserveCapacity(Int(n))
    var previousEnd: UInt64 = 0
    var left = Int(n)
    while left > 0 {
      let take = min(left, 4096)
      guard let w = reader.next(3 * take), w.count == 3 * take else { return nil }
      sum.add(w)
      for k in 0..<take {
        let p = FlatPiece(start: w[3 * k], end: w[3 * k + 1], chunkOffset: w[3 * k + 2])
        guard p.start >= previousEnd, p.start < p.end, p.end <= size,
          p.chunkOffset >= FlattenedFile.headerSize, p.chunkOffset < fileSize
        else { return nil }
        pieces.append(p)
        previousEnd = p.end
      }
      left -= take
    }
    guard let last = reader.next(1), last == [sum.value] else { return nil }
    CacheDirectory.used(path)
    return FlatScanResult(
      recordCount: Int(records), size: size, hasTerminator: terminated == 1, layout: .sparse(pieces))
  }

  /// Writes `result` (sparse layouts only); failures leave the cache as it was.
  func save(_ result: FlatScanResult) {
    guard case .sparse(let pieces) = result.layout else { return }
    var words = head + [
      UInt64(result.recordCount), result.size, result.hasTerminator ? 1 : 0, UInt64(pieces.count),
    ]
    words.reserveCapacity(words.count + 3 * pieces.count + 1)
    for p in pieces { words += [p.start, p.end, p.chunkOffset] }
    var sum = IndexChecksum()
    sum.add(words[...])
    words.append(sum.value)
    CacheDirectory.makeDirectories(directory)
    let tmp = "\(path).\(getpid()).tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    let bytes = words.map(\.littleEndian)
    let written = bytes.withUnsafeBytes { buf -> Bool in
      var done = 0
      while done < buf.count {
        guard let base = buf.baseAddress else { return false }
        let n = write(fd, base + done, buf.count - done)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        done += n
      }
      return true
    }
    close(fd)
    if !written || rename(tmp, path) != 0 {
      unlink(tmp)
    } else {
      CacheDirectory.stored(path)
    }
  }

  /// Hash of the first and last `hashedBytes` of the stream (read with pread: no pages kept).
  private static func contentHash(_ file: MappedFile) -> UInt64 {
    let count = Int(min(UInt64(hashedBytes), file.size))
    var words = [UInt64](repeating: 0, count: 2 * ((count + 7) / 8))
    let half = (count + 7) / 8
    words.withUnsafeMutableBytes { buf in
      let first = UnsafeMutableRawBufferPointer(rebasing: buf[0..<count])
      let last = UnsafeMutableRawBufferPointer(rebasing: buf[(half * 8)..<(half * 8 + count)])
      _ = file.copyBytes(at: 0, into: first)
      _ = file.copyBytes(at: file.size - UInt64(count), into: last)
    }
    return IndexChecksum.of(words[...])
  }
}

/// FNV-1a over 64-bit words: enough to catch a damaged or truncated cache file.
struct IndexChecksum {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  mutating func add<C: Collection>(_ words: C) where C.Element == UInt64 {
    for w in words { value = (value ^ w) &* 0x0000_0100_0000_01b3 }
  }

  static func of<C: Collection>(_ words: C) -> UInt64 where C.Element == UInt64 {
    var sum = IndexChecksum()
    sum.add(words)
    return sum.value
  }
}

/// Little-endian u64 words of a file, read in blocks.
final class WordReader {
  private let fd: Int32
  /// Whole words in the file.
  let wordCount: UInt64

  /// Opens `path`; nil when it is missing, empty, larger than `maxBytes` or not whole words.
  init?(path: String, maxBytes: Int) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    var st = stat()
    guard fstat(fd, &st) == 0, st.st_size > 0, st.st_size <= maxBytes, st.st_size % 8 == 0 else {
      close(fd)
      return nil
    }
    self.fd = fd
    wordCount = UInt64(st.st_size) / 8
  }

  deinit { close(fd) }

  /// The next `count` words (fewer at the end of the file), nil on a read error.
  func next(_ count: Int) -> [UInt64]? {
    var words = [UInt64](repeating: 0, count: count)
    var done = 0
    let ok = words.withUnsafeMutableBytes { buf -> Bool in
      while done < buf.count {
        guard let base = buf.baseAddress else { return false }
        let n = read(fd, base + done, buf.count - done)
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { return false }
        if n == 0 { break }
        done += n
      }
      return true
    }
    guard ok else { return nil }
    return words[0..<(done / 8)].map { UInt64(littleEndian: $0) }
  }
}
