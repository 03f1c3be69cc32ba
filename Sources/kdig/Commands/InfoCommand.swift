import ArgumentParser
import Kdig

struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "What crash's sys, mach and help -m tell: kernel, dump format, KASLR, bases, CPUs.")

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("info", json: options.json) {
      let session = try options.openSession()
      let info = MachineInfoAnalyzer(kernel: session.kernel).analyze()
      return CommandOutput(text: { InfoRenderer.render(info) }, json: { JSONOutput.render(info, command: "info") })
    }
  }
}

