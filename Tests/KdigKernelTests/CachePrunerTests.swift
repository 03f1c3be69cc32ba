// CachePruner: the derived caches stay under KDIG_CACHE_MAX_MB, least recently used build
// (or flattened-stream index) first, the newest kept, and nothing else under the cache root
// is touched.

import Foundation
import KdigBinary
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct CachePrunerTests {
  /// Writes `bytes` zero bytes at `path` with mtime `age` seconds ago.
  static func file(_ path: String, bytes: Int, age: Int) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(count: bytes).write(to: URL(fileURLWithPath: path))
    let t = time(nil) - age
    var times = [timespec(tv_sec: t, tv_nsec: 0), timespec(tv_sec: t, tv_nsec: 0)]
    #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
  }

  @Test func leastRecentlyUsedBuildsGoFirstAndNothingElseIsTouched() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-prune-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let old = "aaaa", middle = "bbbb", new = "cccc"
    // Build `old`: 300 KiB in three directories, used an hour ago (its newest file decides).
    try Self.file("\(root)/symbols/\(old)-100-200.names", bytes: 100 << 10, age: 3600)
    try Self.file("\(root)/rodata/\(old)/btf-ffffffff81000000-4096.bin", bytes: 100 << 10, age: 7200)
    try Self.file("\(root)/types/\(old).idx", bytes: 100 << 10, age: 3600)
    // Build `middle`: 300 KiB, used a minute ago; a flattened index used a day ago.
    try Self.file("\(root)/rodata/\(middle)/kallsyms.idx", bytes: 300 << 10, age: 60)
    try Self.file("\(root)/flat-index/0123456789abcdef.idx", bytes: 200 << 10, age: 86400)
    // Build `new`: 300 KiB, just written.
    try Self.file("\(root)/rodata/\(new)/btf.idx", bytes: 300 << 10, age: 0)
    // Not kdig's derived data: never looked at, whatever its size and age.
    try Self.file("\(root)/samples/big.vmcore", bytes: 2 << 20, age: 999_999)
    try Self.file("\(root)/kernels/v/vmlinux", bytes: 1 << 20, age: 999_999)

    let groups = CachePruner.groups(root: root)
    #expect(groups.map(\.key) == ["flat:0123456789abcdef.idx", "build:\(old)", "build:\(middle)", "build:\(new)"])
    #expect(groups.first { $0.key == "build:\(old)" }?.bytes == 300 << 10)

    // 1100 KiB against a 1 MiB limit: down to 768 KiB, oldest first.
    let removed = CachePruner.prune(root: root, limit: 1 << 20)
    #expect(removed.map(\.key) == ["flat:0123456789abcdef.idx", "build:\(old)"])
    let fm = FileManager.default
    #expect(!fm.fileExists(atPath: "\(root)/rodata/\(old)"), "the build's directory goes with its files")
    #expect(!fm.fileExists(atPath: "\(root)/symbols/\(old)-100-200.names"))
    #expect(fm.fileExists(atPath: "\(root)/rodata/\(middle)/kallsyms.idx"))
    #expect(fm.fileExists(atPath: "\(root)/samples/big.vmcore") && fm.fileExists(atPath: "\(root)/kernels/v/vmlinux"))

    // Under the limit: nothing to do. A limit below the newest build alone keeps it.
    #expect(CachePruner.prune(root: root, limit: 1 << 20).isEmpty)
    #expect(CachePruner.prune(root: root, limit: 1).map(\.key) == ["build:\(middle)"])
    #expect(fm.fileExists(atPath: "\(root)/rodata/\(new)/btf.idx"))
  }

  @Test func usingAFileMakesItRecent() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-prune-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    try Self.file("\(root)/types/aaaa.idx", bytes: 10, age: 3600)
    try Self.file("\(root)/types/bbbb.idx", bytes: 10, age: 60)
    CacheDirectory.used("\(root)/types/aaaa.idx")
    #expect(CachePruner.groups(root: root).map(\.key) == ["build:bbbb", "build:aaaa"])
  }
}
