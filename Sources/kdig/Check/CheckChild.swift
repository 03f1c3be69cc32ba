// The checker child (`kdig check --one DUMP`): limits its own memory, opens the dump,
// runs every registered check and prints the report as one JSON line. Any error becomes a
// report with status error; only a trap or a signal ends it without one.

import Foundation
import Kdig

#if canImport(Glibc)
  import Glibc
#endif

/// Checks one dump inside a child process.
struct CheckChild {
  var dump: String
  var vmlinux: String?
  /// `--debuginfo-dir`, searched before the system's places.
  var debuginfoDirs: [String] = []
  var memoryLimitMiB: Int

  func run() {
    limitMemory(mebibytes: memoryLimitMiB)
    let clock = ContinuousClock()
    let start = clock.now
    let elapsed = { (seconds(clock.now - start) * 1000).rounded() / 1000 }
    let report: DumpCheckReport
    do {
      let session = try Session(dumpPath: dump, vmlinuxPath: vmlinux, searchDirectories: debuginfoDirs)
      do {
        // Without a vmlinux the dump's kallsyms and BTF serve (docs/no-vmlinux.md).
        try session.requireSymbolsAndTypes()
        var checked = DumpCheckRunner().report(kernel: session.kernel, dump: dump, elapsed: elapsed)
        checked.kernel?.vmlinuxNotice = session.fallbackNotice
        report = checked
      } catch {
        var identity = session.kernel.identity
        identity.vmlinuxNotice = session.fallbackNotice
        report = DumpCheckReport(dump: dump, kernel: identity, failure: failure(error), elapsed: elapsed())
      }
    } catch {
      report = DumpCheckReport(dump: dump, kernel: identity(), failure: failure(error), elapsed: elapsed())
    }
    print(CheckJSONLines.report(report))
    fflush(nil)
  }

  /// The dump's release and build-id when the session could not open (a vmlinux that does
  /// not match): the report still says which kernel the dump holds.
  func identity() -> KernelIdentity? {
    guard let d = try? openDump(path: dump) else { return nil }
    let info = d.notes.vmcoreinfo.map { VMCoreInfo(text: $0) }
    let release = info?.osRelease ?? d.summary.headerRelease.flatMap { $0.isEmpty ? nil : $0 }
    guard release != nil || info?.buildID != nil else { return nil }
    return KernelIdentity(release: release, buildID: info?.buildID, vmlinux: nil)
  }

  func failure(_ error: any Error) -> CheckFailure {
    let category = (error as? any KdigError)?.category ?? .unreadable
    return CheckFailure(category: category.rawValue, message: "\(error)")
  }

  /// RLIMIT_DATA for this process: what it allocates (heap, anonymous mappings). A dump that
  /// makes the parser allocate without bound fails here (a trap the parent reports) instead
  /// of taking the machine's memory. Not RLIMIT_AS: the dump and the vmlinux are mapped
  /// read-only and whole, so an address-space limit would refuse every dump larger than it.
  func limitMemory(mebibytes: Int) {
    guard mebibytes > 0 else { return }
    var current = rlimit()
    guard getrlimit(dataLimit, &current) == 0 else { return }
    let wanted = rlim_t(mebibytes) << 20
    var limit = rlimit(rlim_cur: min(wanted, current.rlim_max), rlim_max: current.rlim_max)
    _ = setrlimit(dataLimit, &limit)
  }
}

/// RLIMIT_DATA as the type getrlimit/setrlimit take on this libc.
private let dataLimit = __rlimit_resource_t(RLIMIT_DATA.rawValue)
