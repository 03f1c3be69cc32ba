import ArgumentParser
import Foundation
import Kdig

struct ExtractCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "extract",
    abstract: "Write a small makedumpfile-format dump holding only the pages kdig's analyses read.",
    discussion: """
      Runs kdig's analyses (--for: info, pagetables, idt, percpu, log, tasks, check; default \
      all) over the dump, with the vmlinux when one is found and again with the dump's \
      kallsyms and BTF, and writes every page they read, with the dump's VMCOREINFO and CPU \
      notes, as a compressed kdump file (header version 6). Every other RAM page reads as \
      excluded. kdig, crash and drgn open it like any makedumpfile dump; kdig's commands \
      give on it what they give on the original (docs/extract.md).
      """)

  @Option(name: .customShort("o"), help: "The file to write.")
  var output: String

  @Option(name: .customLong("for"), help: "What the extract must serve: all, or a comma list of info, pagetables, idt, percpu, log, tasks, check.")
  var parts: [String] = []

  @Option(name: .long, help: "Page compression: zlib (default), lzo, snappy, zstd or none.")
  var compress = "zlib"

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("extract", json: options.json) {
      let env = ProcessInfo.processInfo.environment
      guard let path = options.dump ?? env["KDIG_DUMP"], !path.isEmpty else {
        throw UsageError("no dump given: use --dump PATH or set KDIG_DUMP")
      }
      var settings = ExtractOptions()
      settings.parts = try ExtractPart.parse(parts)
      try settings.setCompression(compress)
      settings.vmlinuxPath = options.noVmlinux ? nil : options.vmlinux ?? env["KDIG_VMLINUX"].flatMap { $0.isEmpty ? nil : $0 }
      settings.noVmlinux = options.noVmlinux
      settings.force = options.force
      settings.searchDirectories = options.debuginfoDirs
      let report = try DumpExtractor.extract(dumpPath: path, to: output, options: settings)
      return CommandOutput(text: { ExtractRenderer.render(report) }, json: { JSONOutput.render(report, command: "extract") })
    }
  }
}
