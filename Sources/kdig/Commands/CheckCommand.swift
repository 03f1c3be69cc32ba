// `kdig check DUMP...`: every verifying analyzer on many dumps at once, for CI (docs/ci.md).
// Each dump is checked in a child process (`check --one`), so one bad dump never stops the
// batch; results stream as text lines or JSON Lines, optionally into a JUnit file.

import ArgumentParser
import Foundation
import Kdig

struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Check many dumps at once for CI, in parallel: IDT, per-CPU entry state, W^X, PTI user tables, dump integrity, what crashed.",
    discussion: """
      Each dump is checked in its own process (memory limited by --memory-limit, killed \
      after --timeout seconds), up to --jobs at once. Text: one line per dump as it finishes, \
      then the findings, then a summary. --json: JSON Lines, one object per dump and a last \
      summary object. --junit FILE: one testcase per dump. --baseline FILE accepts known \
      findings. Exit 0 all ok, 1 findings, 2 a dump could not be checked (wins over 1), 64 usage; \
      on SIGINT/SIGTERM the checkers are killed, what finished is reported and the exit is 130/143. \
      See docs/ci.md.
      """)

  @Flag(name: .long, help: "JSON Lines: one object per dump as it finishes, then a summary object.")
  var json = false

  @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report to FILE.", valueName: "FILE"))
  var junit: String?

  @Option(name: .long, help: ArgumentHelp("Dumps checked at once (default: the number of active cores).", valueName: "N"))
  var jobs: Int?

  @Option(name: .long, help: ArgumentHelp("Accept the known findings listed in FILE (JSON, see docs/ci.md).", valueName: "FILE"))
  var baseline: String?

  @Option(
    name: .long,
    help: ArgumentHelp(
      "The vmlinux for every dump (default: $KDIG_VMLINUX, else searched per dump, else fetched from $DEBUGINFOD_URLS).",
      valueName: "PATH"))
  var vmlinux: String?

  @Option(
    name: .customLong("debuginfo-dir"),
    help: ArgumentHelp(
      "Also look for each dump's vmlinux under DIR, by build-id and release (see docs/ci.md); repeatable.",
      valueName: "DIR"))
  var debuginfoDirs: [String] = []

  @Option(name: .long, help: ArgumentHelp("Seconds one dump may take before its checker is killed.", valueName: "SECONDS"))
  var timeout: Double = 300

  @Option(
    name: .customLong("memory-limit"),
    help: ArgumentHelp(
      "Memory each checker process may allocate (RLIMIT_DATA; the mapped dump and vmlinux do not count), in MiB; 0: no limit.",
      valueName: "MIB"))
  var memoryLimit: Int = 4096

  @Flag(name: .customLong("one"), help: .private)
  var one = false

  @Argument(help: ArgumentHelp("The dumps to check.", valueName: "DUMP"))
  var dumps: [String] = []

  func validate() throws {
    if dumps.isEmpty { throw ValidationError("no dump given: kdig check DUMP...") }
    if one && dumps.count != 1 { throw ValidationError("--one checks exactly one dump") }
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    if memoryLimit < 0 { throw ValidationError("--memory-limit must not be negative (0: no limit)") }
  }

  func run() throws {
    let env = ProcessInfo.processInfo.environment
    let vm = vmlinux ?? env["KDIG_VMLINUX"].flatMap { $0.isEmpty ? nil : $0 }
    if one {
      CheckChild(dump: dumps[0], vmlinux: vm, debuginfoDirs: debuginfoDirs, memoryLimitMiB: memoryLimit).run()
      return
    }
    // From here a SIGINT or SIGTERM stops the batch cleanly (InterruptSignals.swift).
    let interrupts = InterruptSignals.block()
    let jobCount = jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    var results = CheckResults(dumps: dumps.count, jobs: jobCount, baseline: try loadBaseline())
    let junitFile = try openJUnit()
    var progress = CheckProgress(total: dumps.count)
    let clock = ContinuousClock()
    let start = clock.now
    let batch = CheckBatch(
      dumps: dumps, jobs: jobCount, timeout: timeout, memoryLimitMiB: memoryLimit,
      childArguments: { dump in
        ["check", "--one", "--memory-limit", String(memoryLimit)] + (vm.map { ["--vmlinux", $0] } ?? [])
          + debuginfoDirs.flatMap { ["--debuginfo-dir", $0] } + ["--", dump]
      }, interrupts: interrupts)
    let stoppedBy = batch.run(
      started: { progress.started($0, dumps[$0]) },
      finished: { index, childReport in
        let report = results.add(index, childReport)
        progress.finished(index)
        progress.clear()
        print(json ? CheckJSONLines.report(report) : CheckTextRenderer.line(report))
        fflush(nil)
        progress.show()
      })
    progress.clear()
    let summary = results.finish(elapsed: seconds(clock.now - start), interruptedBy: stoppedBy)
    if json {
      print(CheckJSONLines.summary(summary))
    } else {
      print(CheckTextRenderer.findings(results.all) + CheckTextRenderer.summary(summary), terminator: "")
    }
    fflush(nil)
    if let junitFile { try writeJUnit(CheckJUnitRenderer.render(results.all, summary: summary), to: junitFile) }
    if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
  }

  /// Writes the JUnit file at the end; failing now is exit 2 (the results are on stdout).
  func writeJUnit(_ xml: String, to path: String) throws {
    do {
      try Data(xml.utf8).write(to: URL(fileURLWithPath: path))
    } catch {
      FileHandle.standardError.write(Data("kdig check: error: cannot write the JUnit file \(path): \(error)\n".utf8))
      throw ExitCode(2)
    }
  }

  /// The baseline file, or a usage error (exit 64) naming what is wrong with it.
  func loadBaseline() throws -> CheckBaseline? {
    guard let baseline else { return nil }
    do {
      let data = try Data(contentsOf: URL(fileURLWithPath: baseline))
      return CheckBaseline(entries: try JSONDecoder().decode([BaselineEntry].self, from: data))
    } catch {
      throw usage("cannot read the baseline \(baseline): \(error)")
    }
  }

  /// Checks now that the JUnit file can be written, before spending minutes on dumps.
  func openJUnit() throws -> String? {
    guard let junit else { return nil }
    guard FileManager.default.createFile(atPath: junit, contents: nil) else {
      throw usage("cannot write the JUnit file \(junit)")
    }
    return junit
  }

  func usage(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("kdig check: error: \(message)\n".utf8))
    return usageExit
  }
}

/// Exit 64 (a bad baseline or JUnit path is a usage error).
private let usageExit = ExitCode(exitCode(for: .usage))
