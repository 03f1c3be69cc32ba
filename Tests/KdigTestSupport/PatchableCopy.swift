// A private copy of a real dump that tests damage and repair in place: each patch saves the
// bytes it overwrites and puts them back afterwards, so one copy serves hundreds of mutants
// (copying a 512 MB sample per mutant would take minutes).

import Foundation

/// A copy of a dump file, patched and restored in place.
public final class PatchableCopy {
  public let path: String
  public let size: UInt64
  private let handle: FileHandle

  /// Copies `source` into a fresh temporary file.
  public init(copying source: String, name: String) throws {
    path = FileManager.default.temporaryDirectory
      .appendingPathComponent("kdig-\(name)-\(UUID().uuidString).vmcore").path
    try FileManager.default.copyItem(atPath: source, toPath: path)
    handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    size = try handle.seekToEnd()
  }

  deinit {
    try? handle.close()
    try? FileManager.default.removeItem(atPath: path)
  }

  public func read(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
    try handle.seek(toOffset: offset)
    return Array(try handle.read(upToCount: count) ?? Data())
  }

  public func write(_ bytes: [UInt8], at offset: UInt64) throws {
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: Data(bytes))
  }

  /// Applies `patches` (file offset → bytes; offsets past the end are skipped), runs `body`,
  /// then restores every byte, in reverse order so overlapping patches undo cleanly.
  public func with<T>(_ patches: [FilePatch], _ body: () throws -> T) throws -> T {
    var saved: [FilePatch] = []
    for p in patches where p.offset < size {
      let count = Int(min(UInt64(p.bytes.count), size - p.offset))
      saved.append(FilePatch(p.offset, try read(p.offset, count)))
      try write(Array(p.bytes.prefix(count)), at: p.offset)
    }
    try handle.synchronize()
    defer {
      for s in saved.reversed() { try? write(s.bytes, at: s.offset) }
      try? handle.synchronize()
    }
    return try body()
  }
}

extension PatchableCopy {
  /// `with(_:_:)` for patches written as (offset, bytes) pairs.
  public func with<T>(_ patches: [(UInt64, [UInt8])], _ body: () throws -> T) throws -> T {
    try with(patches.map { FilePatch($0.0, $0.1) }, body)
  }

  nonisolated(unsafe) private static var copies: [String: PatchableCopy] = [:]
  private static let lock = NSLock()

  /// One copy of `source` per `key` for the whole test process (a suite of tampering tests
  /// patches and restores it; copying 512 MB per test would take minutes). Suites that run
  /// at the same time use different keys. The copies are removed when the process exits.
  public static func shared(copying source: String, key: String) throws -> PatchableCopy {
    lock.lock()
    defer { lock.unlock() }
    if let c = copies[key] { return c }
    let c = try PatchableCopy(copying: source, name: key)
    if copies.isEmpty { atexit { PatchableCopy.removeShared() } }
    copies[key] = c
    return c
  }

  static func removeShared() {
    lock.lock()
    copies = [:]
    lock.unlock()
  }
}

/// Bytes to write at a file offset.
public struct FilePatch: Sendable {
  public var offset: UInt64
  public var bytes: [UInt8]

  public init(_ offset: UInt64, _ bytes: [UInt8]) {
    self.offset = offset
    self.bytes = bytes
  }
}

/// Little-endian bytes of `value`, `width` bytes wide (1, 2, 4 or 8).
public func littleEndian(_ value: UInt64, width: Int) -> [UInt8] {
  (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// Big-endian bytes of `value` (8 bytes), as flattened record headers store them.
public func bigEndian64(_ value: UInt64) -> [UInt8] {
  (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}
