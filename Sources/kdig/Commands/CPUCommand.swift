import ArgumentParser
import Kdig

struct CPUCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cpu",
    abstract: "Per-CPU state around interrupt entry: current task, stacks, preempt count, CR3, TLB state.",
    discussion: """
      For each CPU (or CPU N): whether it was online, stopped by the panic or the panicking \
      one, __per_cpu_offset, current task, top_of_stack, hardirq_stack_ptr and whether the \
      IRQ stack was in use, preempt count, the CR3 of the dump's CPU state decoded (PGD, \
      PCID, PTI user bits), cpu_tlbstate (loaded_mm, ASIDs, ctxs[] with the PCIDs derived).
      """)

  @Argument(help: "The CPU (default: every possible CPU).")
  var cpu: Int?

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("cpu", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let states = try session.kernel.cpuStates(cpu: cpu)
      return CommandOutput(text: { CPURenderer.text(states) }, json: { JSONOutput.render(states, command: "cpu") })
    }
  }
}
