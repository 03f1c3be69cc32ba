import ArgumentParser
import Kdig

struct GDTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gdt",
    abstract: "Decode every CPU's GDT (CEA alias and gdt_page) and check it against the kernel's construction.",
    discussion: """
      Every slot: index, selector, segment.h name, raw descriptor, kind (code, data, TSS, \
      LDT), base, limit, DPL, P, G, D, L, type. Checks: code/data slots as the vmlinux's \
      gdt_page initialises them, the TSS descriptor (base = this CPU's CEA TSS, busy, \
      __KERNEL_TSS_LIMIT), LDT, TLS slots = the current task's tls_array, CPUNODE, GDTR and \
      TR of QEMU dumps. Exit 1 on findings.
      """)

  @Option(name: .long, help: "Only this CPU.")
  var cpu: Int?

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("gdt", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let report = try PerCPUVerifier(kernel: session.kernel).report(cpu: cpu)
      return CommandOutput(
        text: { PerCPURenderer.gdt(report) },
        json: { JSONOutput.render(PerCPUView(report, prefix: "gdt."), command: "gdt") },
        status: PerCPUExit.status(report, prefix: "gdt."))
    }
  }
}

struct TSSCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tss",
    abstract: "Decode every CPU's TSS (CEA alias and cpu_tss_rw) and check sp0, the IST stacks and the I/O bitmap.",
    discussion: """
      sp0 (= the CPU's entry-stack top), sp1, sp2 (entry_SYSCALL_64's user-RSP scratch), \
      ist[0..6] with the exception stack each should point at (DF, NMI, DB, MCE, VC), \
      io_bitmap_base and what it selects, TR base of QEMU dumps. Exit 1 on findings.
      """)

  @Option(name: .long, help: "Only this CPU.")
  var cpu: Int?

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("tss", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let report = try PerCPUVerifier(kernel: session.kernel).report(cpu: cpu)
      return CommandOutput(
        text: { PerCPURenderer.tss(report) },
        json: { JSONOutput.render(PerCPUView(report, prefix: "tss."), command: "tss") },
        status: PerCPUExit.status(report, prefix: "tss."))
    }
  }
}
