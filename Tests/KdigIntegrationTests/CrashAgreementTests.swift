// kdig against Debian's crash 8.0.2 (which reads the 6.1 samples): the machine values of
// `mach` and `help -m`, `p` values, and `sym` / `rd` output line for line.

import Foundation
import Kdig
import KdigTestSupport
import Testing

/// crash's output for one sample, split by command.
struct CrashTranscript {
  let sections: [String: [String]]

  init?(_ text: String?) {
    guard let text else { return nil }
    var sections: [String: [String]] = [:]
    var current: String?
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
      if line.hasPrefix("crash> ") {
        current = String(line.dropFirst(7))
        sections[current ?? ""] = []
      } else if let c = current {
        sections[c, default: []].append(line)
      }
    }
    guard !sections.isEmpty else { return nil }
    self.sections = sections
  }

  /// The value after "LABEL:" in a command's output.
  func field(_ command: String, _ label: String) -> String? {
    for line in sections[command] ?? [] {
      let t = line.trimmingWhitespace()
      if t.hasPrefix(label + ":") { return String(t.dropFirst(label.count + 1)).trimmingWhitespace() }
    }
    return nil
  }

  /// Output lines of a command, without blank ones.
  func lines(_ command: String) -> [String] { (sections[command] ?? []).filter { !$0.isEmpty } }
}

@Suite struct CrashAgreementTests {
  static var crashSamples: [Sample] {
    let all = Samples.forTests
    let with = all.filter { CrashTranscript($0.crashOutput)?.sections["mach"]?.isEmpty == false }
    return with.isEmpty ? all : with
  }

  func open(_ sample: Sample) throws -> (Session, CrashTranscript) {
    let s = try sample.require()
    let crash = try #require(CrashTranscript(s.crashOutput), "\(s.name): no crash transcript")
    return (try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux), crash)
  }

  @Test func crashReadsEverySixOneSample() throws {
    let names = Set(Self.crashSamples.map(\.name))
    for s in try Samples.all() where s.kernel_release.hasPrefix("6.1.") && s.format != "kdump-qemu-flattened" {
      #expect(names.contains(s.name), "crash produced no transcript for \(s.name)")
    }
  }

  @Test(arguments: crashSamples)
  func machineValues(sample: Sample) throws {
    let (session, crash) = try open(sample)
    let map = session.kernel.memoryMap()
    #expect(crash.field("mach", "KERNEL VIRTUAL BASE") == hex(map.pageOffsetBase.value))
    #expect(crash.field("mach", "KERNEL VMALLOC BASE") == hex(map.vmallocBase.value))
    #expect(crash.field("mach", "KERNEL VMEMMAP BASE") == hex(map.vmemmapBase.value))
    #expect(crash.field("help -m", "phys_base") == hex(session.kernel.layout.physBase.value))
    #expect(crash.field("help -m", "sme_mask") == hex(session.kernel.layout.encryptionMask.value))
    let info = MachineInfoAnalyzer(kernel: session.kernel).analyze()
    #expect(crash.field("sys", "RELEASE") == info.release?.value)
    #expect(crash.field("sys", "VERSION") == info.version?.value)
    #expect(crash.field("sys", "NODENAME") == info.nodename?.value)
  }

  @Test(arguments: crashSamples)
  func printValues(sample: Sample) throws {
    let (session, crash) = try open(sample)
    let query = PrintQuery(kernel: session.kernel)
    for expr in ["pgdir_shift", "page_offset_base", "init_mm.pgd", "&idt_table"] {
      let line = try #require(crash.lines("p \(expr)").first, "crash printed nothing for p \(expr)")
      // crash: "pgdir_shift = $1 = 39" or "$3 = (pgd_t *) 0x… <init_top_pgt>".
      let crashValue = try #require(line.range(of: #"\$[0-9]+ = "#, options: .regularExpression))
      let mine = try query.evaluate(expr)
      #expect(String(line[crashValue.upperBound...]) == mine.value, "p \(expr)")
    }
  }

  @Test(arguments: crashSamples)
  func symAndRdLineForLine(sample: Sample) throws {
    let (session, crash) = try open(sample)
    for name in ["idt_table", "linux_banner"] {
      let mine = SymbolRenderer.render(try SymbolQuery(kernel: session.kernel).byName(name))
      #expect(mine.split(separator: "\n").map(String.init) == crash.lines("sym \(name)"))
    }
    let banner = try session.kernel.lookup("linux_banner").address
    let words = try MemoryReader(kernel: session.kernel).words(at: banner, count: 8, kind: .kernelVirtual)
    #expect(MemoryRenderer.render(words).split(separator: "\n").map(String.init) == crash.lines("rd -64 linux_banner 8"))
    // vtop: crash's block, line for line, up to its FLAGS line (trailing blanks aside).
    let space = try session.kernel.resolve(.kernel, userPGD: false)
    let answer = VtopAnalyzer(kernel: session.kernel).translate(KernelConstants.cpuEntryAreaBase, in: space)
    let trim: (String) -> String = { line in String(line.reversed().drop { $0 == " " }.reversed()) }
    let mine = VtopRenderer.render(answer).split(separator: "\n", omittingEmptySubsequences: false).map { trim(String($0)) }
    let theirs = (crash.sections["vtop fffffe0000000000"] ?? []).map(trim)
    let flagsLine = try #require(theirs.firstIndex { $0.contains("(PRESENT") }, "no FLAGS line in crash's vtop")
    #expect(Array(mine.prefix(flagsLine + 1)) == Array(theirs.prefix(flagsLine + 1)))
    let phys = try MemoryReader(kernel: session.kernel).words(at: 0x1000, count: 8, kind: .physical)
    #expect(MemoryRenderer.render(phys).split(separator: "\n").map(String.init) == crash.lines("rd -p 0x1000 8"))
  }
}
