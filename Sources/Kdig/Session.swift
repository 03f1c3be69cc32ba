// The library's front door: open a dump, find its vmlinux, locate the kernel. Other Swift
// tools import Kdig and start here.

@_exported import KdigAnalyzers
@_exported import KdigBinary
@_exported import KdigDump
@_exported import KdigKernel
@_exported import KdigMemory
@_exported import KdigOutput
@_exported import KdigTranslation

#if canImport(Glibc)
  import Glibc
#endif

/// An opened dump with its kernel.
public final class Session {
  public let dump: any DumpFile
  public let kernel: KernelImage
  /// Set when no vmlinux was found and kdig falls back to the dump's kallsyms and BTF: the
  /// CLI prints it once on stderr (not set under `noVmlinux`, where the user asked for it).
  public private(set) var fallbackNotice: String?

  /// Opens `dumpPath`. With no `vmlinuxPath`, looks for the vmlinux by the dump's OSRELEASE
  /// and BUILD-ID in the usual places, then asks debuginfod when `DEBUGINFOD_URLS` is set;
  /// `force` accepts a vmlinux that does not match.
  /// `noVmlinux` uses no vmlinux at all: symbols from the dump's kallsyms, types from its
  /// BTF (docs/no-vmlinux.md).
  /// `searchDirectories` (`--debuginfo-dir`) are searched before the system's places.
  public convenience init(
    dumpPath: String, vmlinuxPath: String?, force: Bool = false, noVmlinux: Bool = false,
    searchDirectories: [String] = []
  ) throws {
    try self.init(
      dump: try openDump(path: dumpPath), vmlinuxPath: vmlinuxPath, force: force, noVmlinux: noVmlinux,
      searchDirectories: searchDirectories)
  }

  /// The same over a dump already open (e.g. a `RecordingDump` for `kdig extract`).
  public init(
    dump: any DumpFile, vmlinuxPath: String?, force: Bool = false, noVmlinux: Bool = false,
    searchDirectories: [String] = []
  ) throws {
    self.dump = dump
    self.searchDirectories = searchDirectories
    let info = dump.notes.vmcoreinfo.map { VMCoreInfo(text: $0) }
    // Named, found on disk, fetched from debuginfod, or none (VmlinuxResolution.swift).
    let vmlinux = try VmlinuxResolution(
      info: info, headerRelease: dump.summary.headerRelease, vmlinuxPath: vmlinuxPath, force: force,
      noVmlinux: noVmlinux, searchDirectories: searchDirectories)
    kernel = try KernelImage(dump: dump, vmlinux: vmlinux.file, force: force)
    fallbackNotice = vmlinux.notice
  }

  /// The `--debuginfo-dir` directories searched, for messages.
  public let searchDirectories: [String]

  /// The first readable candidate whose build-id matches the dump's. A searched file of
  /// another kernel (a `vmlinux-REL` of another build, a stale link) is skipped, so a
  /// later candidate or the dump's kallsyms serve; only a vmlinux the user named is an error
  /// when it does not match. Under `force` the first readable candidate is used as before.
  static func search(info: VMCoreInfo?, headerRelease: String?, force: Bool, in directories: [String]) throws -> VmlinuxFile? {
    let paths = VmlinuxLocator.candidates(
      release: info?.osRelease ?? headerRelease, buildID: info?.buildID, root: searchRoot, searchDirectories: directories)
    for path in paths where access(path, R_OK) == 0 {
      let file = try VmlinuxFile(path: path, source: .searched)
      if !force, let want = info?.buildID, let have = file.buildID, want != have { continue }
      return file
    }
    return nil
  }

  /// A directory prefixed to the vmlinux search paths (`KDIG_SYSROOT`), for looking inside a
  /// mounted image or a test tree.
  public static var searchRoot: String {
    guard let p = getenv("KDIG_SYSROOT") else { return "" }
    return String(cString: p)
  }

  /// Symbols and types for commands that need them: the vmlinux, else the dump's kallsyms
  /// (loaded here, so a dump without usable kallsyms fails now, saying what was tried).
  public func requireSymbolsAndTypes() throws {
    if kernel.vmlinux != nil { return }
    do {
      _ = try kernel.symbols()
    } catch {
      let release = kernel.vmcoreinfo?.osRelease ?? "unknown release"
      throw KernelImageError(
        .vmlinuxNotFound,
        "no symbols for \(release): no vmlinux (give --vmlinux PATH or set KDIG_VMLINUX; looked in: "
          + "\(Self.searched(kernel.vmcoreinfo, searchDirectories: searchDirectories))), and the dump's kallsyms cannot be used: \(error)")
    }
  }

  /// The kernel's vmlinux, or a debug-info error saying how to give one. Commands use
  /// `requireSymbolsAndTypes()`, which also accepts the dump's kallsyms and BTF; this stays
  /// for callers that need the file itself (and for `kdig check` until it moves over).
  public func requireVmlinux() throws -> VmlinuxFile {
    guard let v = kernel.vmlinux else {
      let release = kernel.vmcoreinfo?.osRelease ?? "unknown release"
      throw KernelImageError(
        .vmlinuxNotFound,
        "no vmlinux for \(release): give --vmlinux PATH or set KDIG_VMLINUX (looked in: \(Self.searched(kernel.vmcoreinfo, searchDirectories: searchDirectories)))")
    }
    return v
  }

  /// The vmlinux search paths for this dump's kernel, for messages.
  static func searched(_ info: VMCoreInfo?, headerRelease: String? = nil, searchDirectories: [String] = []) -> String {
    VmlinuxLocator.candidates(
      release: info?.osRelease ?? headerRelease, buildID: info?.buildID, root: searchRoot, searchDirectories: searchDirectories
    ).joined(separator: ", ")
  }
}
