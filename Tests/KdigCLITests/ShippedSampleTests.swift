// The sample that ships in git (Samples/shipped/: a `kdig extract` of the real 6.12 QEMU
// dump, and the guest console of that boot). It needs nothing downloaded or booted, so these
// tests run on any clone: kdig without a vmlinux (kallsyms and BTF from the extract) must
// answer as the kernel itself did on its console: release, KASLR offset, the panicking
// task's Call Trace and registers, the last kernel messages; and the verifications pass.

import Foundation
import KdigTestSupport
import Testing

@Suite struct ShippedSampleTests {
  static let dump = Repository.path("Samples/shipped/6.12-qemu-elf.kdump")
  static let console: String = {
    let raw = (try? String(contentsOfFile: Repository.path("Samples/shipped/6.12-qemu-elf.console.log"), encoding: .utf8)) ?? ""
    return raw.replacingOccurrences(of: "\r", with: "")
  }()

  static func kdig(_ args: [String]) throws -> KdigRun {
    try KdigProcess.run(args + ["--dump", dump, "--no-vmlinux"])
  }

  @Test func identityMatchesTheConsole() throws {
    #expect(!Self.console.isEmpty, "Samples/shipped/6.12-qemu-elf.console.log is missing")
    let info = try Self.kdig(["info"])
    #expect(info.status == 0, "\(info.stderr)")
    // "Linux version 6.12.107+deb12-cloud-amd64 (debian-kernel@…" and "Kernel Offset: 0x9800000 from …".
    let release = try #require(Self.console.firstMatch(of: /Linux version (\S+)/)?.1)
    let offset = try #require(Self.console.firstMatch(of: /Kernel Offset: 0x([0-9a-f]+) from/)?.1)
    #expect(info.stdout.contains("RELEASE: \(release)"), "\(info.stdout)")
    #expect(info.stdout.contains("KASLR OFFSET: \(offset)"), "\(info.stdout)")
    #expect(info.stdout.contains("kdig extract (from elf-qemu 6.12-qemu-elf.vmcore"))
  }

  @Test func verificationsPass() throws {
    for args in [["idt", "--verify-ro"], ["cea", "--verify"], ["vtop", "0xfffffe0000000000"], ["tss", "--cpu", "0"]] {
      let r = try Self.kdig(args)
      #expect(r.status == 0, "\(args): \(r.stdout.suffix(400)) \(r.stderr)")
    }
    let idt = try Self.kdig(["idt", "--verify-ro"])
    #expect(idt.stdout.contains("PASSED"), "\(idt.stdout.prefix(400))")
  }

  /// The shipped sample, and Samples/regressions/6.1-panic-blink (an extract, `--for
  /// info,check`, of a 6.1 QEMU dump taken while panic() blinked the keyboard LEDs: the
  /// unwinder went wrong after led_trigger_event restored BP, a later frame that leaves BP
  /// alone took the CPU note's BP again; unwind_orc.c's get_reg() sees the starting
  /// registers only until the first step).
  static let traced = ["Samples/shipped/6.12-qemu-elf", "Samples/regressions/6.1-panic-blink"]

  @Test(arguments: traced)
  func backtraceMatchesTheConsoleTrace(_ sample: String) throws {
    let raw = try String(contentsOfFile: Repository.path("\(sample).console.log"), encoding: .utf8)
    let trace = try #require(ConsoleTrace(console: raw.replacingOccurrences(of: "\r", with: "")), "no Call Trace in \(sample)")
    let bt = try KdigProcess.run(["bt", "--json", "--dump", Repository.path("\(sample).kdump"), "--no-vmlinux"])
    #expect(bt.status == 0, "\(bt.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(bt.stdout.utf8)) as? [String: Any]
    let first = try #require((object?["result"] as? [[String: Any]])?.first)
    let frames = first["frames"] as? [[String: Any]] ?? []
    let names = frames.compactMap { $0["function"] as? String }
    let fromPanic = Array(names.drop { $0 != "panic" })
    let consoleFromPanic = Array(trace.functions.drop { $0 != "panic" })
    #expect(!consoleFromPanic.isEmpty && fromPanic == consoleFromPanic, "\n kdig    \(fromPanic)\n console \(consoleFromPanic)")
    // The syscall's user registers, as the kernel printed them.
    let block = try #require(frames.compactMap { $0["exception"] as? [String: Any] }.last)
    let fields = (block["fields"] as? [[String: Any]] ?? []).reduce(into: [String: UInt64]()) { out, f in
      if let n = f["name"] as? String, let v = f["value"] as? String { out[n] = UInt64(v.dropFirst(2), radix: 16) }
    }
    let printed = try #require(trace.registerSets.last)
    for (name, value) in printed where name != "kernelRIP" {
      #expect(fields[name] == value, "\(name): kdig \(fields[name].map { String($0, radix: 16) } ?? "-") console \(String(value, radix: 16))")
    }
  }

  @Test func logEndsAsTheConsole() throws {
    let log = try Self.kdig(["log"])
    #expect(log.status == 0, "\(log.stderr)")
    let kernelLines = Self.console.split(separator: "\n").map(String.init).filter { $0.hasPrefix("[") }
    let last = Array(kernelLines.suffix(12))
    let logLines = log.stdout.split(separator: "\n").map(String.init)
    #expect(last.count == 12 && Array(logLines.suffix(12)) == last, "\n log     \(logLines.suffix(3))\n console \(last.suffix(3))")
  }
}
