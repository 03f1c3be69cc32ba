// Keeps kdig's derived caches bounded. Every cache file is rebuilt on demand, so the least
// recently used can go: what kdig derives per kernel build (symbols/, rodata/<build-id>/,
// types/) is grouped by build-id, each flattened-stream index (flat-index/) stands alone,
// and when the groups together pass the limit the oldest are removed until they fill at
// most three quarters of it. The newest group always stays. Nothing else under the cache
// root (samples, kernels, fuzzing corpora) is ever looked at. "Used" is the file's mtime:
// writers set it, and loaders touch what they map (CacheDirectory.used).
// The limit: KDIG_CACHE_MAX_MB (default 2048; 0 never prunes). Pruning runs at most once a
// process, after it wrote a cache file.

#if canImport(Glibc)
  import Glibc
#endif

public enum CachePruner {
  /// The directories holding what kdig derives (and nothing else).
  public static let derivedDirectories = ["symbols", "rodata", "flat-index", "types"]
  public static let defaultLimitMB: UInt64 = 2048
  /// Directory entries looked at, at most (a cache with more is left alone, not walked).
  static let maxEntries = 100_000

  /// Files that are used together and removed together.
  public struct Group: Equatable {
    public var key: String
    public var files: [String] = []
    public var directories: [String] = []
    public var bytes: UInt64 = 0
    /// Newest mtime of its files, in seconds.
    public var lastUsed: Int = 0
  }

  /// KDIG_CACHE_MAX_MB in bytes; nil when pruning is off (0).
  public static var limitBytes: UInt64? {
    var mb = defaultLimitMB
    if let v = getenv("KDIG_CACHE_MAX_MB").map({ String(cString: $0) }), let n = UInt64(v) { mb = n }
    guard mb > 0 else { return nil }
    return mb.multipliedReportingOverflow(by: 1 << 20).overflow ? nil : mb << 20
  }

  /// The groups under `root`, keyed as described above.
  public static func groups(root: String) -> [Group] {
    var byKey: [String: Group] = [:]
    var budget = maxEntries
    func add(_ key: String, file: String, directory: String? = nil) {
      var st = stat()
      guard lstat(file, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
      var g = byKey[key] ?? Group(key: key)
      g.files.append(file)
      if let directory, !g.directories.contains(directory) { g.directories.append(directory) }
      g.bytes &+= UInt64(max(0, st.st_size))
      g.lastUsed = max(g.lastUsed, Int(st.st_mtim.tv_sec))
      byKey[key] = g
    }
    for name in entries("\(root)/symbols", budget: &budget) {
      add("build:" + (name.split(separator: "-").first.map(String.init) ?? name), file: "\(root)/symbols/\(name)")
    }
    for name in entries("\(root)/types", budget: &budget) {
      add("build:" + (name.split(separator: ".").first.map(String.init) ?? name), file: "\(root)/types/\(name)")
    }
    for name in entries("\(root)/flat-index", budget: &budget) {
      add("flat:" + name, file: "\(root)/flat-index/\(name)")
    }
    for build in entries("\(root)/rodata", budget: &budget) {
      let directory = "\(root)/rodata/\(build)"
      for name in entries(directory, budget: &budget) {
        add("build:" + build, file: "\(directory)/\(name)", directory: directory)
      }
    }
    return byKey.values.sorted { ($0.lastUsed, $0.key) < ($1.lastUsed, $1.key) }
  }

  /// Removes the least recently used groups while they total more than `limit` bytes, down
  /// to three quarters of it, keeping the newest; returns what was removed.
  @discardableResult
  public static func prune(root: String, limit: UInt64) -> [Group] {
    let all = groups(root: root)
    var total = all.reduce(UInt64(0)) { $0 &+ $1.bytes }
    guard total > limit else { return [] }
    let target = limit / 4 * 3
    var removed: [Group] = []
    for g in all.dropLast() where total > target {
      for f in g.files { unlink(f) }
      for d in g.directories { rmdir(d) }
      total &-= g.bytes
      removed.append(g)
    }
    return removed
  }

  nonisolated(unsafe) private static var prunedThisProcess = false

  /// Prunes the cache under `root` once per process (after a write).
  static func pruneOnce(root: String) {
    guard !prunedThisProcess, let limit = limitBytes else { return }
    prunedThisProcess = true
    prune(root: root, limit: limit)
  }

  /// Names in `directory` (not `.`/`..`), at most `budget` of them across calls.
  static func entries(_ directory: String, budget: inout Int) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while budget > 0, let entry = readdir(dir) {
      budget -= 1
      let name = withUnsafePointer(to: entry.pointee.d_name) {
        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }
}
