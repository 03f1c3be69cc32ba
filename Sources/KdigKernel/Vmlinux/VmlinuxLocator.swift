// Finds the vmlinux for a dump when none is given: by OSRELEASE in the paths distributions
// install debug kernels to, and by build-id under /usr/lib/debug/.build-id (the same places
// crash and drgn search).

/// Where kdig looks for a vmlinux, in order.
public enum VmlinuxLocator {
  /// Candidate paths for a kernel `release` with optional `buildID`.
  public static func candidates(release: String?, buildID: String?, root: String = "") -> [String] {
    var paths: [String] = []
    if let release, !release.isEmpty {
      paths += [
        "/usr/lib/debug/boot/vmlinux-\(release)",
        "/usr/lib/debug/lib/modules/\(release)/vmlinux",
        "/boot/vmlinux-\(release)",
        "/lib/modules/\(release)/build/vmlinux",
      ]
    }
    if let buildID, buildID.count > 2 {
      let head = buildID.prefix(2)
      let rest = buildID.dropFirst(2)
      paths.append("/usr/lib/debug/.build-id/\(head)/\(rest).debug")
    }
    return paths.map { root + $0 }
  }

  /// The first candidate that exists, if any.
  public static func find(release: String?, buildID: String?, exists: (String) -> Bool) -> String? {
    candidates(release: release, buildID: buildID).first(where: exists)
  }
}
