// kdig's cache, `${KDIG_CACHE:-$HOME/.cache/kdig}`: derived data kept per kernel build (type
// index, symbol index, copies of read-only tables), each file checked before it is trusted.

#if canImport(Glibc)
  import Glibc
#endif

public enum CacheDirectory {
  /// `KDIG_CACHE`, else `$HOME/.cache/kdig`; nil when neither is set.
  public static var root: String? {
    if let r = getenv("KDIG_CACHE").map({ String(cString: $0) }), !r.isEmpty { return r }
    if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty { return "\(home)/.cache/kdig" }
    return nil
  }

  /// A build-id usable in a file name (hex only, so it can never become a path).
  public static func isBuildID(_ id: String?) -> Bool {
    guard let id, !id.isEmpty, id.count <= 128 else { return false }
    return id.allSatisfy(\.isHexDigit)
  }

  /// `mkdir -p`: errors (already exists, no permission) surface when a file is opened.
  public static func makeDirectories(_ path: String) {
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
      prefix += "/" + component
      mkdir(prefix, 0o755)
    }
  }

  /// Call after writing the cache file `path`: keeps the derived caches of its cache root
  /// under their limit (CachePruner.swift).
  public static func stored(_ path: String) {
    let parts = path.split(separator: "/", omittingEmptySubsequences: false)
    guard let at = parts.lastIndex(where: { CachePruner.derivedDirectories.contains(String($0)) }), at > 0 else { return }
    CachePruner.pruneOnce(root: parts[..<at].joined(separator: "/"))
  }

  /// Call when a cache file is used: its mtime is what the pruner calls "last used".
  public static func used(_ path: String) {
    utimensat(AT_FDCWD, path, nil, 0)
  }
}
