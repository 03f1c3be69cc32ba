import ArgumentParser
import Kdig

struct IDTCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "idt",
    abstract: "Decode all 256 IDT gates; with --verify-ro prove the IDT read-only and every handler where the kernel put it.",
    discussion: """
      Without options: every gate (handler, symbol, selector, type, DPL, IST, present) and \
      where the kernel set it. --crash prints crash's `irq -d`. --verify checks every gate \
      against the kernel's own tables (def_idts, apic_idts, ia32_idt, the irq and spurious \
      stubs) and the stub bytes; --verify-ro adds the mappings: the read-only alias in \
      cpu_entry_area, idt_table's kernel mapping, the direct-map alias, PTI's user page \
      tables, every CPU's IDTR. Exit 0 clean (warnings allowed), 1 findings, 2 IDT page not \
      in the dump, 3 no vmlinux.
      """)

  @Flag(name: .long, help: "Print crash's `irq -d` layout.")
  var crash = false

  @Flag(name: .customLong("verify-ro"), help: "Verify handlers and the read-only mappings.")
  var verifyRO = false

  @Flag(name: .long, help: "Verify the handlers only.")
  var verify = false

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("idt", json: options.json) {
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let kernel = session.kernel
      if verifyRO || verify {
        let report = try IDTVerifier(kernel: kernel, checkMappings: verifyRO).verify()
        let status: Int32 = report.idtPageMissing != nil ? 2 : report.errors > 0 ? 1 : 0
        return CommandOutput(
          text: { IDTRenderer.report(report) }, json: { JSONOutput.render(report, command: "idt") }, status: status)
      }
      let views = try kernel.idtViews()
      guard let bytes = views.kernelBytes ?? views.aliasBytes else {
        throw IDTUnreadable(message: "IDT page excluded from this dump: \(views.kernelError ?? views.aliasError ?? "")")
      }
      let model = try? IDTModel(kernel: kernel)
      let rows = decodeIDT(bytes, kernel: kernel, model: model)
      return CommandOutput(
        text: {
          crash
            ? IDTRenderer.crash(rows, symbolize: { a in kernel.symbolize(a).map { ($0.symbol.name, $0.offset) } })
            : IDTRenderer.table(rows)
        },
        json: { JSONOutput.render(rows, command: "idt") })
    }
  }
}

/// The IDT page is not in the dump (exit 2).
struct IDTUnreadable: KdigError {
  var message: String
  var category: ErrorCategory { .notInDump }
  var description: String { message }
}
