// The malformed-dump corpus (issue 11): every mutant the generator makes from the real
// samples (MalformedDumps), run through kdig as a child process with a timeout and a memory
// cap. Each run must end by itself within the bound, with exit 0-3 (1 for findings) and,
// on failure, a message that names what is wrong — never a signal, a hang or runaway memory.
//
// To keep the suite near a minute on 2 cores, `vtop 0xfffffe0000000000` runs on every
// mutant; when it fails at open (the header is rejected, and opening is the same code for
// every command) `info` runs on every third such mutant; otherwise `info` and one of ptdump
// / idt --verify-ro / cea --verify / bt -a / log / check / ps / bt -a --no-vmlinux in turn;
// page-table mutants run all ten. KDIG_CORPUS_ALL=1 runs all ten on every mutant (about 7
// times longer). `extract` runs on every 20th mutant of each family (extractEndsOnMutants).

import Foundation
import KdigTestSupport
import Testing

@Suite struct MalformedCorpusTests {
  /// The wall-clock bound for one command on one mutant (a debug build on a loaded machine).
  static let timeout = 10.0
  /// Peak resident memory allowed for one run.
  static let maxRSSMiB = 1024

  enum Family: String, CaseIterable, CustomStringConvertible, Sendable {
    case elfQEMU = "elf-qemu", elfKdump = "elf-kdump", makedumpfileZlib = "makedumpfile-zlib"
    case makedumpfileLZO = "makedumpfile-lzo", flattened = "flattened", qemuFlattened = "qemu-flattened"
    case hostileTables = "hostile-tables"

    var description: String { rawValue }

    var sample: String {
      switch self {
      case .elfQEMU, .hostileTables: return "6.12-qemu-elf"
      case .elfKdump: return "6.12-kdump-elf"
      case .makedumpfileZlib: return "6.12-kdump-zlib-d31"
      case .makedumpfileLZO: return "6.1-kdump-lzo-d31"
      case .flattened: return "6.12-kdump-zlib-d31-flat"
      case .qemuFlattened: return "6.12-qemu-kdump-zlib"
      }
    }

    func mutants(_ f: DumpBytes, _ facts: SampleFacts) throws -> [Mutant] {
      let n = Family.allCases.firstIndex(of: self) ?? 0
      switch self {
      case .elfQEMU: return try MalformedDumps.elf(f, family: n, valuesPerKey: 2)
      case .elfKdump: return try MalformedDumps.elf(f, family: n)
      case .hostileTables: return try MalformedDumps.hostileTables(f, facts: facts, family: n)
      case .makedumpfileZlib:
        return try MalformedDumps.kdump(f, facts: facts, family: n, parts: MalformedDumps.KdumpParts.all.subtracting(.records))
      case .makedumpfileLZO: return try MalformedDumps.kdump(f, facts: facts, family: n, parts: [.pageData, .bombs])
      case .flattened: return try MalformedDumps.kdump(f, facts: facts, family: n, parts: [.records, .bombs, .subHeader])
      case .qemuFlattened: return try MalformedDumps.kdump(f, facts: facts, family: n, parts: [.records, .header, .pageData])
      }
    }
  }

  static let commands: [[String]] = [
    ["vtop", "0xfffffe0000000000"], ["info"], ["ptdump"], ["idt", "--verify-ro"], ["cea", "--verify"], ["bt", "-a"],
    ["log"], ["check"], ["ps"],
    // The dump's own kallsyms, BTF and ORC tables instead of the vmlinux's.
    ["bt", "-a", "--no-vmlinux"],
  ]

  @Test(.timeLimit(.minutes(5)), arguments: Family.allCases)
  func everyMutantEndsWithAClearMessage(family: Family) throws {
    let sample = try Samples.named(family.sample).require()
    let facts = try MalformedDumps.facts(sample)
    let mutants = try family.mutants(try DumpBytes(path: sample.file), facts)
    #expect(mutants.count >= 10, "\(family): only \(mutants.count) mutants")
    let copy = try PatchableCopy(copying: sample.file, name: "corpus-\(family)")
    let started = Date()
    var tally = Tally()
    let intact = try run(["vtop", "0xfffffe0000000000"], copy, sample)
    #expect(intact.status == 0, "\(family) intact copy: \(intact)")
    for (i, m) in mutants.enumerated() {
      try copy.with(m.patches) {
        let first = try run(Self.commands[0], copy, sample)
        tally.add(m, Self.commands[0], first)
        for command in Self.rest(m, index: i, after: first) {
          tally.add(m, command, try run(command, copy, sample))
        }
      }
    }
    let elapsed = Date().timeIntervalSince(started)
    print("corpus \(family): \(mutants.count) mutants, \(tally.runs) runs in \(Int(elapsed)) s; \(tally.summary)")
    #expect(tally.failures.isEmpty, "\(family): \(tally.failures.count) bad runs:\n\(tally.failures.prefix(40).joined(separator: "\n"))")
  }

  /// `extract` reads what every analysis reads, so it meets every kind of damage; it runs
  /// all of them, so it is slower (seconds, not milliseconds): every 20th mutant, a longer bound.
  @Test(.timeLimit(.minutes(5)), arguments: Family.allCases)
  func extractEndsOnMutants(family: Family) throws {
    let sample = try Samples.named(family.sample).require()
    let mutants = try family.mutants(try DumpBytes(path: sample.file), try MalformedDumps.facts(sample))
    let copy = try PatchableCopy(copying: sample.file, name: "corpus-extract-\(family)")
    let dir = try TemporaryDirectory("corpus-extract")
    var tally = Tally()
    for (i, m) in mutants.enumerated() where i % 20 == 0 {
      try copy.with(m.patches) {
        let command = ["extract", "-o", "\(dir.path)/out.kdump"]
        let r = try BoundedProcess.run(
          KdigProcess.binary, command + ["--dump", copy.path, "--vmlinux", sample.vmlinux], timeout: 60)
        tally.add(m, command, r)
      }
    }
    print("corpus extract \(family): \(tally.runs) runs; \(tally.summary)")
    #expect(tally.runs >= 1)
    #expect(tally.failures.isEmpty, "\(family): \(tally.failures.prefix(20).joined(separator: "\n"))")
  }

  func run(_ command: [String], _ copy: PatchableCopy, _ sample: Sample) throws -> BoundedRun {
    try BoundedProcess.run(KdigProcess.binary, Self.arguments(command, copy.path, sample), timeout: Self.timeout)
  }

  /// `command` on the dump at `path`: `check` takes its dumps as arguments; `--no-vmlinux`
  /// runs get no vmlinux.
  static func arguments(_ command: [String], _ path: String, _ sample: Sample) -> [String] {
    let vmlinux = command.contains("--no-vmlinux") ? [] : ["--vmlinux", sample.vmlinux]
    return command.first == "check" ? command + vmlinux + [path] : command + ["--dump", path] + vmlinux
  }

  /// The commands after vtop for mutant `index` (see the file comment).
  static func rest(_ m: Mutant, index: Int, after first: BoundedRun) -> [[String]] {
    if ProcessInfo.processInfo.environment["KDIG_CORPUS_ALL"] == "1" || m.allCommands {
      return Array(commands.dropFirst())
    }
    let openFailed = (first.status == 2 || first.status == 3) && first.stderr.contains(": error: ")
      && !first.stderr.contains("physical address") && !first.stderr.contains("virtual address")
    if openFailed { return index % 3 == 0 ? [commands[1]] : [] }
    return [commands[1], commands[2 + index % (commands.count - 2)]]
  }
}

/// What the runs of one family did, and which broke the rules.
struct Tally {
  var runs = 0
  var failures: [String] = []
  var statuses: [Int32: Int] = [:]
  var slowest = 0.0
  var peakMiB = 0

  /// KDIG_CORPUS_VERBOSE=1 prints every run: mutant, command, status and message.
  static let verbose = ProcessInfo.processInfo.environment["KDIG_CORPUS_VERBOSE"] == "1"

  mutating func add(_ m: Mutant, _ command: [String], _ r: BoundedRun) {
    runs += 1
    if Self.verbose {
      print("corpus run: \(m.name) [\(command.joined(separator: " "))] -> \(r.status.map { "exit \($0)" } ?? "signal")"
        + String(format: " in %.2f s", r.seconds)
        + (Self.errorMessage(r).map { ": \($0.prefix(300))" } ?? ""))
    }
    slowest = max(slowest, r.seconds)
    peakMiB = max(peakMiB, r.maxRSSKiB / 1024)
    if let s = r.status { statuses[s, default: 0] += 1 }
    if let why = Self.problem(r) { failures.append("\(m.name) [\(command.joined(separator: " "))]: \(why)") }
  }

  var summary: String {
    let codes = statuses.keys.sorted().map { "exit \($0): \(statuses[$0] ?? 0)" }.joined(separator: ", ")
    return "\(codes); slowest \(String(format: "%.2f", slowest)) s; peak \(peakMiB) MiB"
  }

  /// Why a run breaks the rules, or nil.
  static func problem(_ r: BoundedRun) -> String? {
    if r.timedOut { return "did not end within \(MalformedCorpusTests.timeout) s (\(r))" }
    if let s = r.signal { return "killed by signal \(s) (\(r))" }
    guard let status = r.status, (0...3).contains(status) else { return "exit status out of 0-3 (\(r))" }
    if r.maxRSSKiB / 1024 > MalformedCorpusTests.maxRSSMiB { return "peak memory above \(MalformedCorpusTests.maxRSSMiB) MiB (\(r))" }
    if r.stderr.contains("Fatal error") || r.stderr.contains("runtime failure") { return "trapped (\(r))" }
    if status >= 2 {
      guard let message = errorMessage(r) else { return "exit \(status) without an error message (\(r))" }
      if message.count < 15 || !message.contains(where: \.isNumber) || generic.contains(where: message.contains) {
        return "exit \(status) with a message that names nothing: \(message)"
      }
    }
    return nil
  }

  /// Words of error descriptions that say nothing about the dump.
  static let generic = ["could not be completed", "Error Domain", "DecodingError", "(Foundation."]

  /// The error message: stderr's "kdig CMD: error: …" line, or the line of the answer that
  /// says why (vtop reports each address's failure as "ERROR: …", as crash does; idt
  /// --verify-ro reports an unreadable IDT page as "IDT UNREADABLE: …" with its other checks).
  static func errorMessage(_ r: BoundedRun) -> String? {
    if let line = r.stderr.split(separator: "\n").first(where: { $0.contains(": error: ") }) {
      return line.split(separator: ": error: ", maxSplits: 1).last.map(String.init)
    }
    // check lists a dump it could not read as "  ERROR    KIND: message".
    if let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("  ERROR ") }),
      let colon = line.firstRange(of: ": ")
    {
      return String(line[colon.upperBound...])
    }
    for marker in ["ERROR:", "UNREADABLE:"] {
      if let line = r.stdout.split(separator: "\n").first(where: { $0.contains(marker) }) {
        return String(line.split(separator: marker, maxSplits: 1).last ?? "")
      }
    }
    return nil
  }
}
