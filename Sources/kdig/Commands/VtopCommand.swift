import ArgumentParser
import Kdig

struct VtopCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vtop",
    abstract: "Translate virtual addresses through the page tables, like crash vtop, with every level and flag.",
    discussion: """
      Kernel addresses walk init_top_pgt; -c walks a task's mm->pgd; --user-pgd walks PTI's user \
      copy (PGD + 4096): what is mapped while the CPU runs user code; --cr3/--cpu walk an \
      explicit root. Exit 1 when an address is not mapped, 2 when a table is not in the dump.
      """)

  @Option(name: .customShort("c"), help: "Translate in the address space of this PID or task_struct address.")
  var context: String?

  @Flag(name: .customShort("u"), help: "The addresses are user virtual addresses (needs -c, --cr3 or --cpu).")
  var user = false

  @Flag(name: .customShort("k"), help: "The addresses are kernel virtual addresses.")
  var kernelAddresses = false

  @Flag(name: .customLong("user-pgd"), help: "Walk PTI's user page tables (PGD + 4096).")
  var userPGD = false

  @Option(name: .customLong("cr3"), help: "Walk from this CR3 value (PCID, PTI and NOFLUSH bits decoded).")
  var cr3: String?

  @Option(name: .customLong("cpu"), help: "Walk from the CR3 this CPU had in the dump (QEMU dumps).")
  var cpu: Int?

  @Argument(help: "Virtual addresses (hex) or kernel symbols.")
  var addresses: [String]

  @OptionGroup var options: DumpOptions

  func validate() throws {
    if user && kernelAddresses { throw ValidationError("-u and -k are mutually exclusive") }
    if [context != nil, cr3 != nil, cpu != nil].filter({ $0 }).count > 1 {
      throw ValidationError("give at most one of -c, --cr3 and --cpu")
    }
    if addresses.isEmpty { throw ValidationError("no address given") }
  }

  func run() throws {
    try runCommand("vtop", json: options.json) {
      let session = try options.openSession()
      let kernel = session.kernel
      let choice: AddressSpaceChoice
      if let context {
        choice = .task(context)
      } else if let cr3 {
        guard let v = parseInteger(cr3, defaultHex: true) else { throw UsageError("--cr3: not a number: \(cr3)") }
        choice = .cr3(v)
      } else if let cpu {
        choice = .cpu(cpu)
      } else {
        if user { throw UsageError("-u needs an address space: -c PID, --cr3 VALUE or --cpu N") }
        choice = .kernel
      }
      let space = try kernel.resolve(choice, userPGD: userPGD)
      let analyzer = VtopAnalyzer(kernel: kernel)
      var answers: [VtopAnswer] = []
      for text in addresses {
        let address = try resolveAddress(text, kernel: kernel, allowSymbol: true)
        if address >> 63 == 0, case .kernel = choice, !kernelAddresses, !userPGD {
          throw UsageError("ambiguous address: \(hex(address)) is a user address: -u with -c PID needed (or -k)")
        }
        answers.append(analyzer.translate(address, in: space))
      }
      let categories = answers.compactMap(\.errorCategory)
      let status: Int32 = categories.contains { $0 != .notMapped } ? 2 : categories.isEmpty ? 0 : 1
      return CommandOutput(
        text: { VtopRenderer.render(answers) }, json: { JSONOutput.render(answers, command: "vtop") },
        status: status)
    }
  }
}
