// Indexes computed from the dump's read-only tables (kallsyms' decoded names and addresses,
// BTF's record offsets and name hash), kept per kernel build next to the tables' copies:
// ${KDIG_CACHE:-$HOME/.cache/kdig}/rodata/<build-id>/<key>.idx, one file per key, so a
// batch of damaged dumps of one build cannot fill the disk. The file carries the fingerprint
// (ContentFingerprint) of the table bytes it was computed from: a dump whose tables differ
// computes its own and replaces it. What is loaded is still checked by its user before use
// (ranges, ids, order): the cache is a file anyone could have written, and the fingerprint
// is not cryptographic.
// Format: "KDIGIDX2", the fingerprint (u64), the section count (u64), each section's byte
// length (u64), then the sections, each padded to 8 bytes. Written atomically
// (OutputFile.replace).

import KdigBinary

/// The per-build directory of derived indexes.
public struct DerivedIndexCache {
  static let magic = Array("KDIGIDX2".utf8)
  /// More sections than any index has: a larger count is a damaged file.
  static let maxSections = 16
  let directory: String

  init(directory: String) { self.directory = directory }

  func path(key: String) -> String { "\(directory)/\(key).idx" }

  /// The sections of the index stored under `key`, mapped, when the file is whole, was
  /// computed from bytes of this `fingerprint` and has exactly `sections` of them.
  func load(key: String, fingerprint: UInt64, sections: Int) -> [ByteView]? {
    guard sections <= Self.maxSections, let file = try? MappedFile(path: path(key: key)),
      let head = try? file.view(at: 0, count: 24, "index header"), head.matches(Self.magic, at: 0),
      let stored = try? head.u64(8, "fingerprint"), stored == fingerprint,
      let count = try? head.u64(16, "section count"), count == UInt64(sections),
      let lengths = try? file.view(at: 24, count: 8 * sections, "section lengths")
    else { return nil }
    var offset = UInt64(24 + 8 * sections)
    var views: [ByteView] = []
    for i in 0..<sections {
      guard let length = try? lengths.u64(8 * i, "section length"), length <= file.size,
        offset <= file.size - length, let view = try? file.view(at: offset, count: Int(length), "index section")
      else { return nil }
      views.append(view)
      offset += (length + 7) & ~7
    }
    guard offset == (file.size + 7) & ~7 else { return nil }
    CacheDirectory.used(path(key: key))
    return views
  }

  /// Writes the sections (best effort: a read-only or full disk costs the next run a rebuild).
  func store(_ sections: [[UInt8]], key: String, fingerprint: UInt64) {
    var bytes = Self.magic
    withUnsafeBytes(of: fingerprint.littleEndian) { bytes += $0 }
    withUnsafeBytes(of: UInt64(sections.count).littleEndian) { bytes += $0 }
    for s in sections { withUnsafeBytes(of: UInt64(s.count).littleEndian) { bytes += $0 } }
    for s in sections {
      bytes += s
      bytes += [UInt8](repeating: 0, count: (8 - s.count % 8) % 8)
    }
    if OutputFile.replace(path(key: key), with: bytes) { CacheDirectory.stored(path(key: key)) }
  }
}

extension KernelRegionReader {
  public var derivedIndexes: DerivedIndexCache? { nil }
}

extension CachedRegionReader {
  /// Beside the per-build copies of the tables.
  var derivedIndexes: DerivedIndexCache? { DerivedIndexCache(directory: cache.directory) }
}

/// Fixed-width integer arrays as the bytes of a cache section, and back (little-endian
/// hosts only: kdig is x86-64).
enum IndexSection {
  static func bytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
  }

  /// The section as `[T]`, or nil when its length is not a whole number of `count` values.
  static func values<T: FixedWidthInteger>(_ view: ByteView, as: T.Type, count: Int) -> [T]? {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
    guard count >= 0, !overflow, view.count == bytes else { return nil }
    return view.withUnsafeBytes { raw in
      [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        if let dst = buffer.baseAddress, let src = raw.baseAddress {
          UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: bytes)
        }
        initialized = count
      }
    }
  }
}
