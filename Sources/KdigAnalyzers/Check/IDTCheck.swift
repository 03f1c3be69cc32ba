// `idt --verify-ro` as a dump check: every gate and stub against the kernel's own tables and
// the IDT proven read-only (docs/idt.md); findings exactly as IDTVerifier reports them.

import KdigKernel

/// The IDT section of `kdig check`.
public struct IDTCheck: DumpCheck {
  public let name = "idt"

  public init() {}

  public func run(kernel: KernelImage) throws -> CheckSection {
    let report = try IDTVerifier(kernel: kernel, checkMappings: true).verify()
    var section = CheckSection(name: name, checks: report.checks, findings: report.findings)
    // Without the IDT page the handlers were not checked: not a pass. The dump-integrity
    // section carries the finding (dump.page-excluded).
    if report.idtPageMissing != nil, section.status == .passed { section.status = .skipped }
    return section
  }

  /// idt_table (its contents) and the read-only alias in cpu_entry_area (the mapping checks).
  public func pagesNeeded(kernel: KernelImage) -> [NeededPage] {
    var pages: [NeededPage] = []
    if let table = try? kernel.lookup("idt_table").address { pages.append(NeededPage("idt_table", table)) }
    pages.append(NeededPage("the IDT's read-only alias (CPU_ENTRY_AREA_RO_IDT)", KernelConstants.cpuEntryAreaBase))
    return pages
  }
}
