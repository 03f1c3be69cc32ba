import ArgumentParser
import Kdig

struct RegsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "regs",
    abstract: "Every register of each CPU in the dump, explained.",
    discussion: """
      From the QEMU CPU state note (general, segment, descriptor-table and control registers) \
      or NT_PRSTATUS (general registers and selectors, as crash_save_cpu stored them). RIP \
      symbolized, RSP placed on its stack (task, IRQ, exception, entry), RFLAGS and CR0/CR4 \
      bits named, CR3 decoded (PGD, PCID, PTI user bits), selectors decoded against the CPU's GDT.
      """)

  @Option(name: .long, help: "Only this CPU.")
  var cpu: Int?

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("regs", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let regs = try session.kernel.cpuRegisters(cpu: cpu)
      return CommandOutput(text: { RegsRenderer.cpus(regs) }, json: { JSONOutput.render(regs, command: "regs") })
    }
  }
}

struct PtRegsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ptregs",
    abstract: "Decode the struct pt_regs at an address.",
    discussion: """
      Layout from the vmlinux's DWARF. orig_ax is explained as the kernel uses it: a system \
      call number and name, the hardware error code of --vector (#PF bits, selector error \
      codes), or -1; CS/SS as user or kernel selectors; RFLAGS bits; RIP symbolized; RSP placed.
      """)

  @Argument(help: "Address of the pt_regs (hex).")
  var address: String

  @Option(name: .long, help: "The exception vector that pushed this frame (explains orig_ax as its error code).")
  var vector: Int?

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("ptregs", json: options.json) {
      guard let a = parseInteger(address, defaultHex: true) else { throw UsageError("not an address: \(address)") }
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let frame = try session.kernel.ptRegsFrame(at: a, vector: vector, stacks: try? session.kernel.stackMap())
      return CommandOutput(text: { RegsRenderer.ptRegs(frame) }, json: { JSONOutput.render(frame, command: "ptregs") })
    }
  }
}
