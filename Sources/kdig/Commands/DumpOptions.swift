// Options every command shares: which dump, which vmlinux, output format.

import ArgumentParser
import Foundation
import Kdig

struct DumpOptions: ParsableArguments {
  @Option(name: .long, help: "The dump file (default: $KDIG_DUMP).")
  var dump: String?

  @Option(
    name: .long,
    help: "The vmlinux with debug info (default: $KDIG_VMLINUX, else searched, else fetched by build-id from $DEBUGINFOD_URLS).")
  var vmlinux: String?

  @Option(
    name: .customLong("debuginfo-dir"),
    help: ArgumentHelp(
      "Also look for the vmlinux under DIR (.build-id/xx/rest.debug, vmlinux-RELEASE, RELEASE/vmlinux, usr/lib/debug/...); repeatable.",
      valueName: "DIR"))
  var debuginfoDirs: [String] = []

  @Flag(name: .long, help: "Use the vmlinux even if its build-id does not match the dump.")
  var force = false

  @Flag(
    name: .customLong("no-vmlinux"),
    help: "Use no vmlinux: symbols from the dump's kallsyms, types from its BTF (docs/no-vmlinux.md).")
  var noVmlinux = false

  @Flag(name: .long, help: "Print JSON instead of text.")
  var json = false

  /// Opens the session these options name.
  func openSession() throws -> Session {
    let env = ProcessInfo.processInfo.environment
    guard let path = dump ?? env["KDIG_DUMP"], !path.isEmpty else {
      throw UsageError("no dump given: use --dump PATH or set KDIG_DUMP")
    }
    if noVmlinux && vmlinux != nil {
      throw UsageError("--no-vmlinux and --vmlinux contradict each other: give one")
    }
    let vm = noVmlinux ? nil : vmlinux ?? env["KDIG_VMLINUX"].flatMap { $0.isEmpty ? nil : $0 }
    let session = try Session(dumpPath: path, vmlinuxPath: vm, force: force, noVmlinux: noVmlinux, searchDirectories: debuginfoDirs)
    if let notice = session.fallbackNotice {
      FileHandle.standardError.write(Data("kdig: \(notice)\n".utf8))
    }
    return session
  }
}

/// A command-line mistake found after parsing (exit 64).
struct UsageError: KdigError {
  var message: String
  init(_ message: String) { self.message = message }
  var category: ErrorCategory { .usage }
  var description: String { message }
}
