import ArgumentParser
import Kdig

struct SymCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sym",
    abstract: "Translate a symbol to its address, or an address to symbol+offset.")

  @Argument(help: "A symbol name, or an address in hex.")
  var target: String

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("sym", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let query = SymbolQuery(kernel: session.kernel)
      let answers: [SymbolAnswer]
      // A name that exists wins over reading it as hex ("cafe" could be either).
      if !target.hasPrefix("0x"), let named = try? query.byName(target) {
        answers = named
      } else if let address = parseInteger(target, defaultHex: true) {
        answers = [try query.byAddress(address)]
      } else {
        answers = try query.byName(target)
      }
      return CommandOutput(text: { SymbolRenderer.render(answers) }, json: { JSONOutput.render(answers, command: "sym") })
    }
  }
}
