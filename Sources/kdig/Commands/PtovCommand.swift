import ArgumentParser
import Kdig

struct PtovCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ptov",
    abstract: "Physical address to its direct-map virtual address, or OFFSET:CPUSPEC to per-CPU addresses, like crash ptov.")

  @Argument(help: "Physical addresses (hex), or per-cpu OFFSET:CPUSPEC (CPUSPEC: a, 0, 1-3, 0,2).")
  var addresses: [String]

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("ptov", json: options.json) {
      let session = try options.openSession()
      let query = PhysicalToVirtual(kernel: session.kernel)
      var answers: [PtovAnswer] = []
      for a in addresses { answers.append(try query.answer(a)) }
      return CommandOutput(text: { PtovRenderer.render(answers) }, json: { JSONOutput.render(answers, command: "ptov") })
    }
  }
}

struct PteCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pte",
    abstract: "Decode a raw page-table entry: frame, every flag, PROTNONE and swap entries.")

  @Argument(help: "The entry value (hex).")
  var value: String

  @Option(name: .long, help: "The level the entry is at: pte (default), pmd, pud, p4d or pgd.")
  var level: String = "pte"

  @Option(name: .long, help: "The kernel release whose software bits to name (default: the dump's, else 6.12).")
  var release: String?

  @Flag(name: .long, help: "Print JSON instead of text.")
  var json = false

  func run() throws {
    try runCommand("pte", json: json) {
      guard let raw = parseInteger(value, defaultHex: true) else { throw UsageError("pte: not a number: \(value)") }
      guard let lvl = PageTableLevel.allCases.first(where: { $0.name.lowercased() == level.lowercased() }) else {
        throw UsageError("pte: --level must be pte, pmd, pud, p4d or pgd")
      }
      let decoder = EntryDecoder(kernelBits: .forRelease(release))
      let answer = PteAnswer(raw: raw, level: lvl, decoder: decoder)
      return CommandOutput(text: { PteRenderer.render(answer) }, json: { JSONOutput.render(answer, command: "pte") })
    }
  }
}
