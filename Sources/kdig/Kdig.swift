// The kdig command line: thin commands over the Kdig library. Each command opens a session,
// runs one analyzer and one renderer; errors become exit codes (docs/exit-codes.md).

import ArgumentParser
import Kdig

@main
struct KdigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kdig",
    abstract: "Analyze Linux x86-64 crash dumps (vmcores).",
    discussion: """
      The dump is --dump PATH or $KDIG_DUMP; the vmlinux is --vmlinux PATH, $KDIG_VMLINUX, or found \
      by the dump's release and build-id under /usr/lib/debug and /boot.
      Exit codes: 0 ok, 1 findings (address not mapped, checks failed), 2 dump or vmlinux \
      unreadable or malformed (or memory not in the dump), 3 debug info missing or mismatched, \
      64 usage.
      """,
    version: "0.1.0",
    subcommands: [
      InfoCommand.self, ReadCommand.self, SymCommand.self, PrintCommand.self, VtopCommand.self,
      PtovCommand.self, PteCommand.self, PtdumpCommand.self, PsCommand.self, IDTCommand.self, CheckCommand.self,
      CEACommand.self, GDTCommand.self, TSSCommand.self, CPUCommand.self, RegsCommand.self, PtRegsCommand.self, BtCommand.self, LogCommand.self, ExtractCommand.self,
    ])
}
