import ArgumentParser
import Kdig

struct CEACommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cea",
    abstract: "Every CPU's cpu_entry_area page by page; with --verify check it, the GDT and the TSS against how the kernel builds them.",
    discussion: """
      Without --verify: per CPU, the area's address (CPU_ENTRY_AREA_PER_CPU + slot × \
      sizeof(struct cpu_entry_area), the slot from _cea_offset on v6.2+), and every page: \
      member, leaf level, effective rights, frame and the per-CPU object the kernel mapped \
      there (gdt_page, entry_stack_storage, cpu_tss_rw, exception_stacks, cpu_debug_store). \
      --verify adds the checks of docs/percpu.md for every CPU: page rights, guard pages, \
      frames, GDT descriptors, TSS stacks, GDTR/TR. Exit 0 clean, 1 findings, 2 a page the \
      checks need is not in the dump, 3 no vmlinux.
      """)

  @Option(name: .long, help: "Only this CPU.")
  var cpu: Int?

  @Flag(name: .long, help: "Verify the areas, GDTs and TSSs of the CPUs.")
  var verify = false

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("cea", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let report = try PerCPUVerifier(kernel: session.kernel).report(cpu: cpu)
      return CommandOutput(
        text: { verify ? PerCPURenderer.report(report) : PerCPURenderer.cea(report) },
        json: { JSONOutput.render(report, command: "cea") },
        status: verify ? PerCPUExit.status(report) : 0)
    }
  }
}

/// Exit status of a verifying per-CPU command: 1 on findings, 2 when views were missing.
enum PerCPUExit {
  static func status(_ r: PerCPUReport, prefix: String = "") -> Int32 {
    let errors = r.findings.filter { $0.severity == .error && $0.code.hasPrefix(prefix) }.count
    return errors > 0 ? 1 : r.unreadable.isEmpty ? 0 : 2
  }
}
