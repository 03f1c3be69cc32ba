import ArgumentParser
import Kdig

struct PrintCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "p",
    abstract: "Print a kernel variable or expression with its DWARF type, like crash p.",
    discussion: "Examples: p pgdir_shift, p page_offset_base, p init_mm.pgd, p &idt_table, p init_uts_ns.name.release, p -x jiffies")

  @Flag(name: .customShort("x"), help: "Print integers in hex.")
  var hexOutput = false

  @Argument(help: "Expression: SYMBOL, SYMBOL.member, SYMBOL->member, &SYMBOL, *SYMBOL, SYMBOL[N].")
  var expression: String

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("p", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let answer = try PrintQuery(kernel: session.kernel, hexIntegers: hexOutput).evaluate(expression)
      return CommandOutput(text: { "\(answer.expression) = \(answer.value)\n" }, json: { JSONOutput.render(answer, command: "p") })
    }
  }
}
