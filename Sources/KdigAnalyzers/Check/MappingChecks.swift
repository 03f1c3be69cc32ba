// The page-table audits of KernelMappingAudit as `kdig check` sections: `wx` (no kernel
// mapping writable and executable, kernel and PTI user tables) and `pti` (the user tables map
// only what pti.c clones).

import KdigKernel

/// The W^X section.
public struct WXCheck: DumpCheck {
  public let name = "wx"
  public init() {}

  public func run(kernel: KernelImage) throws -> CheckSection {
    let a = KernelMappingAudit(kernel: kernel).writableExecutable()
    return CheckSection(name: name, checks: a.checks, findings: a.findings)
  }
}

/// The PTI user-table section.
public struct PTIUserCheck: DumpCheck {
  public let name = "pti"
  public init() {}

  public func run(kernel: KernelImage) throws -> CheckSection {
    let a = KernelMappingAudit(kernel: kernel).ptiUserTables()
    var section = CheckSection(name: name, checks: a.checks, findings: a.findings)
    if a.checks.allSatisfy({ $0.status == "skipped" }) { section.status = .skipped }
    return section
  }
}
