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

  /// Opens `dumpPath`. With no `vmlinuxPath`, looks for the vmlinux by the dump's OSRELEASE
  /// and BUILD-ID in the usual places; `force` accepts a vmlinux that does not match.
  public init(dumpPath: String, vmlinuxPath: String?, force: Bool = false) throws {
    dump = try openDump(path: dumpPath)
    let info = dump.notes.vmcoreinfo.map { VMCoreInfo(text: $0) }
    var vmlinux: VmlinuxFile?
    if let vmlinuxPath {
      vmlinux = try VmlinuxFile(path: vmlinuxPath)
    } else if let found = VmlinuxLocator.candidates(
      release: info?.osRelease ?? dump.summary.headerRelease, buildID: info?.buildID, root: Self.searchRoot
    ).first(where: { access($0, R_OK) == 0 }) {
      vmlinux = try VmlinuxFile(path: found)
    }
    kernel = try KernelImage(dump: dump, vmlinux: vmlinux, force: force)
  }

  /// A directory prefixed to the vmlinux search paths (`KDIG_SYSROOT`), for looking inside a
  /// mounted image or a test tree.
  public static var searchRoot: String {
    guard let p = getenv("KDIG_SYSROOT") else { return "" }
    return String(cString: p)
  }

  /// The kernel's vmlinux, or a debug-info error saying how to give one.
  public func requireVmlinux() throws -> VmlinuxFile {
    guard let v = kernel.vmlinux else {
      let release = kernel.vmcoreinfo?.osRelease ?? "unknown release"
      let tried = VmlinuxLocator.candidates(
        release: kernel.vmcoreinfo?.osRelease, buildID: kernel.vmcoreinfo?.buildID, root: Self.searchRoot)
      throw KernelImageError(
        .vmlinuxNotFound,
        "no vmlinux for \(release): give --vmlinux PATH or set KDIG_VMLINUX (looked in: \(tried.joined(separator: ", ")))")
    }
    return v
  }
}
