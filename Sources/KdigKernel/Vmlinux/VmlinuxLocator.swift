// Finds the vmlinux for a dump when none is given: by OSRELEASE in the paths distributions
// install debug kernels to, and by build-id under /usr/lib/debug/.build-id (the same places
// crash and drgn search).

/// Where kdig looks for a vmlinux, in order.
public enum VmlinuxLocator {
  /// Candidate paths for a kernel `release` with optional `buildID`: first under each of
  /// `searchDirectories` (`--debuginfo-dir`, not prefixed by `root`: the user named them),
  /// then the system's places under `root`.
  public static func candidates(
    release: String?, buildID: String?, root: String = "", searchDirectories: [String] = []
  ) -> [String] {
    searchDirectories.flatMap { inDirectory($0, release: release, buildID: buildID) }
      + systemCandidates(release: release, buildID: buildID).map { root + $0 }
  }

  /// The layouts a debug directory may hold: a `.build-id` tree, flat `vmlinux-REL`, one
  /// directory per release, or a copy of a system's `/usr/lib/debug`.
  static func inDirectory(_ directory: String, release: String?, buildID: String?) -> [String] {
    // "/dbg/" and "/dbg" give the same paths.
    let dir = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    let debug = dir + "/usr/lib/debug"
    var paths: [String] = []
    if let id = buildIDPath(buildID) { paths.append("\(dir)/.build-id/\(id)") }
    if let release, !release.isEmpty {
      paths += ["\(dir)/vmlinux-\(release)", "\(dir)/\(release)/vmlinux", "\(debug)/boot/vmlinux-\(release)"]
    }
    if let id = buildIDPath(buildID) { paths.append("\(debug)/.build-id/\(id)") }
    if let release, !release.isEmpty { paths.append("\(debug)/lib/modules/\(release)/vmlinux") }
    return paths
  }

  /// `xx/rest.debug` for a build-id, as the `.build-id` trees name files.
  static func buildIDPath(_ buildID: String?) -> String? {
    guard let buildID, buildID.count > 2 else { return nil }
    return "\(buildID.prefix(2))/\(buildID.dropFirst(2)).debug"
  }

  static func systemCandidates(release: String?, buildID: String?) -> [String] {
    var paths: [String] = []
    if let release, !release.isEmpty {
      paths += [
        "/usr/lib/debug/boot/vmlinux-\(release)",
        "/usr/lib/debug/lib/modules/\(release)/vmlinux",
        "/boot/vmlinux-\(release)",
        "/lib/modules/\(release)/build/vmlinux",
      ]
    }
    if let id = buildIDPath(buildID) { paths.append("/usr/lib/debug/.build-id/\(id)") }
    return paths
  }

  /// The first candidate that exists, if any.
  public static func find(release: String?, buildID: String?, exists: (String) -> Bool) -> String? {
    candidates(release: release, buildID: buildID).first(where: exists)
  }
}

/// How kdig came by a vmlinux, for `info` and `check` to say.
public enum VmlinuxSource: String, Sendable, Codable {
  /// Named by `--vmlinux` or `KDIG_VMLINUX`.
  case given
  /// Found on disk: under a `--debuginfo-dir` or the system's debug directories.
  case searched
  /// Fetched by build-id from a debuginfod server (`DEBUGINFOD_URLS`), into its client cache.
  case debuginfod
}
