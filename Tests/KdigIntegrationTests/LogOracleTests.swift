// `kdig log` on every real sample against three independent readers of the same log:
// makedumpfile --dump-dmesg (kdump ELF and makedumpfile files), crash 8.0.2 `log`, `log -m`,
// `log -T` (6.1 samples), and the serial console the kernel printed to before it died. Then
// the dump is damaged: a text page or a descriptor page excluded as makedumpfile would.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct LogOracleTests {
  static let samples = Samples.forTests

  /// The log read from the dump alone (no vmlinux), except where the dump has no VMCOREINFO.
  static func log(_ s: Sample, dump: (any DumpFile)? = nil) throws -> (KernelLog, KernelImage) {
    let vmlinux = s.vmcoreinfo ? nil : try VmlinuxFile(path: s.vmlinux)
    let kernel = try KernelImage(dump: try dump ?? openDump(path: s.file), vmlinux: vmlinux)
    return (try KernelLogReader(kernel: kernel).read(), kernel)
  }

  static func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }

  /// makedumpfile's log text, or nil when it could not read this sample (QEMU ELF, flattened).
  static func dmesgOracle(_ s: Sample) -> [String]? {
    guard let path = s.oracles?["dmesg"], let text = try? String(contentsOfFile: path, encoding: .utf8),
      text.contains("\n# exit status: 0\n"), let range = text.range(of: "\n# log text:\n")
    else { return nil }
    return lines(String(text[range.upperBound...]))
  }

  /// The kernel's lines on the serial console, up to the capture kernel's boot (kexec samples).
  static func consoleKernelLines(_ s: Sample) throws -> [String] {
    let path = try #require(s.console_log)
    let text = String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
    var out: [String] = []
    var boots = 0
    // The serial console ends lines with "\r\n" (one Character in Swift).
    for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
      if line.contains("] Linux version ") { boots += 1 }
      if boots > 1 { break }
      if line.wholeMatch(of: /\[ *\d+\.\d{6}\] .*/) != nil { out.append(String(line)) }
    }
    return out
  }

  @Test(arguments: samples) func equalsMakedumpfileWhereItReadsTheDump(_ sample: Sample) throws {
    let s = try sample.require()
    let (log, _) = try Self.log(s)
    #expect(log.gapList.isEmpty, "\(log.gapList)")
    let ours = Self.lines(LogRenderer.render(log))
    // Where makedumpfile failed (QEMU ELF, flattened streams), the same memory's twin's log.
    let twin = try s.same_memory_as.map { try Samples.named($0) }
    if let oracle = Self.dmesgOracle(s) ?? twin.flatMap(Self.dmesgOracle) {
      #expect(ours == oracle, "first difference at line \(zip(ours, oracle).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ours.count, oracle.count))")
    }
    #expect(ours.count > 300)
  }

  @Test(arguments: samples) func everyConsoleLineIsInTheLogInOrder(_ sample: Sample) throws {
    let s = try sample.require()
    let (log, _) = try Self.log(s)
    let ours = Self.lines(LogRenderer.render(log))
    let console = try Self.consoleKernelLines(s)
    #expect(console.count > 300)
    #expect(console.contains { $0.contains("Kernel panic - not syncing") })
    // A subsequence: the console misses only records below the console loglevel.
    var i = 0
    for line in ours where i < console.count && line == console[i] { i += 1 }
    #expect(i == console.count, "console line \(i) not in kdig's log in order: \(i < console.count ? console[i] : "")")
    // The last lines, the panic among them, are the last of the log.
    #expect(Array(ours.suffix(5)) == Array(console.suffix(5)))
  }

  /// crash's output of `crash> CMD` (the oracle runs crash.cmds with a marker per command).
  static func crashSection(_ s: Sample, _ command: String) -> [String]? {
    guard let out = s.crashOutput, let start = out.range(of: "crash> \(command)\n") else { return nil }
    let rest = out[start.upperBound...]
    let end = rest.range(of: "\ncrash> ")?.lowerBound ?? rest.endIndex
    return rest[..<end].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  }

  @Test(arguments: samples.filter { $0.kernel_release.hasPrefix("6.1.") })
  func equalsCrashLog(_ sample: Sample) throws {
    let s = try sample.require()
    let (log, _) = try Self.log(s)
    let plain = try #require(Self.crashSection(s, "log"), "crash.cmds runs `log`: rebuild the oracles (Samples/make-samples.sh)")
    #expect(Self.lines(LogRenderer.render(log)) == plain)
    let levels = try #require(Self.crashSection(s, "log -m"))
    #expect(Self.lines(LogRenderer.render(log, .init(showLevel: true))) == levels)
    // -T needs the vmlinux (the timekeeper); crash printed local time with TZ=UTC.
    let wall = try #require(Self.crashSection(s, "log -T"))
    let r = try KdigProcess.run(["log", "-T", "--dump", s.file, "--vmlinux", s.vmlinux], environment: ["TZ": "UTC"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(Self.lines(r.stdout) == wall)
  }

  @Test(arguments: samples.filter { $0.producer == "kdump-dd" || $0.producer == "makedumpfile" })
  func wallClockMeetsCrashTime(_ sample: Sample) throws {
    // A kdump dump's VMCOREINFO carries CRASHTIME (the wall clock at the panic): the last
    // record's -T second is within a second or two of it.
    let s = try sample.require()
    let (log, kernel) = try Self.log(s)
    let withVmlinux = try KernelImage(dump: try openDump(path: s.file), vmlinux: try VmlinuxFile(path: s.vmlinux))
    let boot = try BootTimeReader.read(kernel: withVmlinux)
    let crashTime = try #require(kernel.vmcoreinfo?.crashTime)
    let last = try #require(log.recordList.last)
    let t = boot.epochSeconds + Int64(last.tsNsec / 1_000_000_000)
    #expect(abs(t - crashTime) <= 2, "boot \(boot.epochSeconds) + \(last.tsNsec) ns vs CRASHTIME \(crashTime)")
    let exact = try #require(boot.offsRealNsec)
    #expect(abs(exact / 1_000_000_000 - boot.epochSeconds) <= 1)
  }

  // MARK: - Damaged dumps

  /// The sample the damage tests use (a kdump ELF: every page present).
  static func damageSample() throws -> Sample { try Samples.named("6.12-kdump-elf").require() }

  /// Drops `frame` and checks every record is either read exactly as before or reported
  /// missing with its own seq, never shown with other bytes.
  func expectMissingNotGuessed(excluding va: UInt64, mustCover seq: UInt64) throws -> [LogGap] {
    let s = try Self.damageSample()
    let (clean, kernel) = try Self.log(s)
    let frame = try kernel.kernelSpace.translate(va) >> 12
    let (damaged, _) = try Self.log(s, dump: ExcludingDump(try openDump(path: s.file), excludingFrames: [frame]))
    let before = Dictionary(uniqueKeysWithValues: clean.recordList.map { ($0.seq, $0) })
    for r in damaged.recordList {
      #expect(before[r.seq]?.textBytes == r.textBytes, "seq \(r.seq) changed")
    }
    let gaps = damaged.gapList
    #expect(!gaps.isEmpty && gaps.allSatisfy { $0.kind == .missing && $0.reason.contains("excluded") }, "\(gaps)")
    var covered = Set<UInt64>()
    for g in gaps {
      let first = try #require(g.firstSeq)
      let last = try #require(g.lastSeq)
      #expect(last - first + 1 == UInt64(g.count))
      covered.formUnion(first...last)
    }
    #expect(covered.contains(seq))
    let kept = Set(damaged.recordList.map(\.seq))
    #expect(covered.isDisjoint(with: kept))
    #expect(covered.union(kept) == Set(before.keys), "every record read or reported")
    let text = LogRenderer.render(damaged)
    #expect(text.contains("[kdig] "))
    return gaps
  }

  @Test func excludedTextPageIsReportedMissing() throws {
    let (clean, _) = try Self.log(try Self.damageSample())
    let target = clean.recordList[clean.recordList.count / 2]
    let gaps = try expectMissingNotGuessed(excluding: try #require(target.textAddress), mustCover: target.seq)
    #expect(gaps.allSatisfy { $0.reason.hasPrefix("text page") })
  }

  @Test func excludedDescriptorPageIsReportedMissingWithDerivedSeqs() throws {
    let (clean, _) = try Self.log(try Self.damageSample())
    let target = clean.recordList[clean.recordList.count / 3]
    let index = target.descriptorID & (clean.ring.descriptorCount - 1)
    let va = clean.ring.descriptors.value + index * 24  // SIZE(prb_desc) of 6.12
    let gaps = try expectMissingNotGuessed(excluding: va, mustCover: target.seq)
    #expect(gaps.allSatisfy { $0.reason.hasPrefix("descriptor page") })
  }

  @Test func dumpWithoutPrbIsUnsupported() throws {
    let s = try Self.damageSample()
    let base = try openDump(path: s.file)
    var notes = base.notes
    notes.vmcoreinfo = notes.vmcoreinfo?.split(separator: "\n").filter { !$0.hasPrefix("SYMBOL(prb)=") }.joined(separator: "\n")
    let kernel = try KernelImage(dump: NotesOverride(base, notes: notes), vmlinux: nil)
    do {
      _ = try KernelLogReader(kernel: kernel).read()
      Issue.record("a dump without SYMBOL(prb) gave a log")
    } catch let e as LogError {
      #expect(e.category == .unsupported)
      #expect(e.message.contains("SYMBOL(prb)"))
    }
  }

  // MARK: - The command

  @Test func commandNeedsNoVmlinux() throws {
    let s = try Self.damageSample()
    // The vmlinux search looks under an empty directory only: nothing to find.
    let empty = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-log-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: empty) }
    let env = ["KDIG_SYSROOT": empty, "KDIG_VMLINUX": ""]
    let r = try KdigProcess.run(["log", "--dump", s.file], environment: env)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(Self.lines(r.stdout) == Self.dmesgOracle(s))
    let t = try KdigProcess.run(["log", "-T", "--dump", s.file], environment: env)
    // The timekeeper's type is not in the dump (its BTF types only some globals): exit 3.
    #expect(t.status == 3)
    #expect(t.stderr.contains("-T needs the boot time from the timekeeper (tk_core)"))
    let json = try KdigProcess.run(["log", "--json", "--dump", s.file], environment: env)
    #expect(json.status == 0)
    let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let result = try #require(root["result"] as? [String: Any])
    let records = try #require(result["records"] as? [[String: Any]])
    let first = try #require(records.first)
    #expect(first["seq"] as? Int == 0 && first["level"] as? Int == 5 && first["status"] as? String == "ok")
    #expect((first["text"] as? String)?.hasPrefix("Linux version") == true)
    #expect((first["caller"] as? [String: Any])?["thread"] as? Int == 0)
    let last = try #require(records.last)
    #expect((last["text"] as? String)?.isEmpty == false)
    #expect((result["counts"] as? [String: Int])?["missing"] == 0)
    let noTime = try KdigProcess.run(["log", "-t", "-m", "--dump", s.file], environment: env)
    #expect(noTime.stdout.hasPrefix("<5>Linux version"))
  }
}

/// A dump whose notes say something else (here: VMCOREINFO without SYMBOL(prb)).
final class NotesOverride: WrappingDump {
  let base: any DumpFile
  let notes: DumpNotes
  init(_ base: any DumpFile, notes: DumpNotes) {
    self.base = base
    self.notes = notes
  }
  var wrapped: any DumpFile { base }
  func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    try base.read(address, into: buffer)
  }
}

extension KernelLog {
  var recordList: [LogRecord] { entries.compactMap { if case .record(let r) = $0 { r } else { nil } } }
  var gapList: [LogGap] { entries.compactMap { if case .gap(let g) = $0 { g } else { nil } } }
}
