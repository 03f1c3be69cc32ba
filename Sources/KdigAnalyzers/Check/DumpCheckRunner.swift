// Runs the registered checks on one kernel. A check that throws becomes a section with
// status error; the others still run.

import KdigBinary
import KdigKernel

/// Checks one opened dump.
public struct DumpCheckRunner {
  public var checks: [any DumpCheck]

  public init(checks: [any DumpCheck] = DumpChecks.all) {
    self.checks = checks
  }

  /// Every check's section, in registry order.
  public func sections(kernel: KernelImage) -> [CheckSection] {
    checks.map { check in
      do {
        return try check.run(kernel: kernel)
      } catch {
        let category = (error as? any KdigError)?.category.rawValue ?? ErrorCategory.unreadable.rawValue
        return CheckSection(name: check.name, failure: CheckFailure(category: category, message: "\(error)"))
      }
    }
  }

  /// The report on `kernel`, under the dump path as the user gave it.
  public func report(kernel: KernelImage, dump: String, elapsed: () -> Double) -> DumpCheckReport {
    let found = sections(kernel: kernel)
    let crash = kernel.crashSummary()
    var report = DumpCheckReport(dump: dump, kernel: kernel.identity, sections: found, elapsed: elapsed())
    report.crash = crash
    return report
  }
}

extension KernelImage {
  /// Release and build-id from VMCOREINFO (else the vmlinux and the kdump header), and the vmlinux.
  public var identity: KernelIdentity {
    KernelIdentity(
      release: vmcoreinfo?.osRelease ?? dumpSummary.headerRelease.flatMap { $0.isEmpty ? nil : $0 } ?? vmlinux?.release,
      buildID: vmcoreinfo?.buildID ?? vmlinux?.buildID, vmlinux: vmlinux?.path, vmlinuxSource: vmlinux?.source)
  }
}
