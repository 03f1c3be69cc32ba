import ArgumentParser
import Kdig

struct ReadCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rd",
    abstract: "Display memory as 64-bit words with ASCII, like crash rd.")

  @Flag(name: .customShort("p"), help: "ADDR is a physical address.")
  var physical = false

  @Flag(name: .customLong("64", withSingleDash: true), help: "64-bit words (the default; accepted as crash has it).")
  var sixtyFour = false

  @Argument(help: "Address (hex, with or without 0x) or kernel symbol name.")
  var address: String

  @Argument(help: "Number of 64-bit words (default 1).")
  var count: Int = 1

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("rd", json: options.json) {
      let session = try options.openSession()
      let start = try resolveAddress(address, kernel: session.kernel, allowSymbol: !physical)
      let words = try MemoryReader(kernel: session.kernel).words(
        at: start, count: count, kind: physical ? .physical : .kernelVirtual)
      return CommandOutput(text: { MemoryRenderer.render(words) }, json: { JSONOutput.render(words, command: "rd") })
    }
  }
}

/// A hex address, or a symbol name resolved to its runtime address.
func resolveAddress(_ text: String, kernel: KernelImage, allowSymbol: Bool) throws -> UInt64 {
  if let v = parseInteger(text, defaultHex: true) { return v }
  guard allowSymbol else { throw UsageError("not an address: \(text)") }
  return try kernel.lookup(text).address
}
