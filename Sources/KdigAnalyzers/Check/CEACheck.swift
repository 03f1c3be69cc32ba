// `cea --verify` as a dump check: every CPU's cpu_entry_area pages, GDT and TSS against how
// the kernel builds them (docs/percpu.md); findings exactly as PerCPUVerifier reports them.

import KdigKernel

/// The per-CPU entry-state section of `kdig check`.
public struct CEACheck: DumpCheck {
  public let name = "cea"

  public init() {}

  public func run(kernel: KernelImage) throws -> CheckSection {
    let report = try PerCPUVerifier(kernel: kernel).report()
    var section = CheckSection(name: name, checks: report.checks, findings: report.findings)
    // A GDT or TSS not in the dump was not checked: not a pass (dump.page-excluded says which).
    if !report.unreadable.isEmpty, section.status == .passed { section.status = .skipped }
    return section
  }

  /// Each CPU's GDT and TSS through the cpu_entry_area (what GDTR and TR point at).
  public func pagesNeeded(kernel: KernelImage) -> [NeededPage] {
    guard let cpus = try? kernel.perCPUSet(), let layout = try? kernel.ceaLayout() else { return [] }
    var pages: [NeededPage] = []
    for cpu in cpus.possible {
      guard let area = try? kernel.cpuEntryArea(cpu: cpu, layout: layout, cpus: cpus, intel: false, walkPages: false) else { continue }
      pages.append(NeededPage("CPU \(cpu)'s GDT (cpu_entry_area)", area.gdt.value))
      pages.append(NeededPage("CPU \(cpu)'s TSS (cpu_entry_area)", area.tss.value))
    }
    return pages
  }
}
