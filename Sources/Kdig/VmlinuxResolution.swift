// Which vmlinux a session uses: the one named; else one found on disk by release and
// build-id; else, when DEBUGINFOD_URLS is set, the one a debuginfod server has for the dump's
// build-id; else none, and the dump's kallsyms and BTF serve, with a notice that says where
// kdig looked and what debuginfod answered.

#if canImport(Glibc)
  import Glibc
#endif

/// The vmlinux chosen for a dump, or why there is none.
struct VmlinuxResolution {
  var file: VmlinuxFile?
  /// Set when no vmlinux is used although the user did not ask for that (`--no-vmlinux`).
  var notice: String?

  init(
    info: VMCoreInfo?, headerRelease: String?, vmlinuxPath: String?, force: Bool, noVmlinux: Bool,
    searchDirectories: [String]
  ) throws {
    if noVmlinux { return }
    if let vmlinuxPath {
      file = try VmlinuxFile(path: vmlinuxPath, source: .given)
      return
    }
    if let found = try Session.search(info: info, headerRelease: headerRelease, force: force, in: searchDirectories) {
      file = found
      return
    }
    var tried = "looked in: " + Session.searched(info, headerRelease: headerRelease, searchDirectories: searchDirectories)
    switch Self.fetchFromDebuginfod(buildID: info?.buildID, force: force) {
    case .none:
      break
    case .some(.success(let fetched)):
      file = fetched
      return
    case .some(.failure(let why)):
      tried += "; debuginfod: \(why.description)"
    }
    notice = "no vmlinux found for \(info?.osRelease ?? headerRelease ?? "this kernel") (\(tried)): "
      + "using the dump's kallsyms for symbols and its BTF for types (give --vmlinux PATH to use one, "
      + "--no-vmlinux to skip the search)"
  }

  struct DebuginfodFailure: Error, CustomStringConvertible {
    var description: String
  }

  /// The vmlinux a debuginfod server has for `buildID`; nil when `DEBUGINFOD_URLS` is unset.
  /// A file that is not the dump's kernel is refused (unless `force`), as a searched one is.
  static func fetchFromDebuginfod(buildID: String?, force: Bool) -> Result<VmlinuxFile, DebuginfodFailure>? {
    guard let client = DebuginfodClient(urls: environment("DEBUGINFOD_URLS"), library: environment("KDIG_LIBDEBUGINFOD")) else {
      return nil
    }
    guard let buildID else {
      return .failure(DebuginfodFailure(description: "the dump has no VMCOREINFO BUILD-ID to ask DEBUGINFOD_URLS=\(client.urls) by"))
    }
    switch client.findDebuginfo(buildID: buildID) {
    case .failed(let why):
      return .failure(DebuginfodFailure(description: why))
    case .found(let path):
      do {
        let file = try VmlinuxFile(path: path, source: .debuginfod)
        if !force, let have = file.buildID, have != buildID {
          return .failure(DebuginfodFailure(description: "the server sent \(path) with build-id \(have), not \(buildID)"))
        }
        return .success(file)
      } catch {
        return .failure(DebuginfodFailure(description: "the file it sent cannot be used: \(error)"))
      }
    }
  }

  static func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
  }
}
