// kdig without a vmlinux (symbols from the dump's kallsyms, types from its BTF) against
// kdig with it, on every sample: the same `info` lines, `p` values, vtop, idt --verify-ro
// and cea --verify verdicts and checks, the panicking task's backtrace; the drgn oracle's
// 300 symbols at the same addresses (the time of each mode: kdig-bench). Where the modes may
// differ, `NoVmlinuxExceptions` says so and why (docs/no-vmlinux.md).

import Foundation
import Kdig
import KdigTestSupport
import Testing

/// Where the no-vmlinux mode is allowed to differ, each with its reason.
enum NoVmlinuxExceptions {
  /// Samples whose dump has no VMCOREINFO: nothing announces kallsyms, so every command that
  /// needs symbols (and kernel location itself) exits 3 saying why.
  static func unsupported(_ s: Sample) -> String? {
    s.vmcoreinfo ? nil : "no VMCOREINFO: kallsyms is not announced and the kernel cannot be located without a vmlinux"
  }

  /// `info` lines that name the sources themselves.
  static let infoLabels = ["KERNEL:", "SYMBOLS:", "TYPES:"]

  /// Check descriptions that name where the expected values came from: the IDT model's
  /// tables (kernel conventions without a vmlinux) and gdt_page's initial value (common.c's
  /// GDT_ENTRY_INIT without a vmlinux). Verdicts and check names must still agree.
  static let checkDescriptions = "expected values: vmlinux file vs the kernel's conventions"
}

/// One kdig run, timed.
struct TimedRun {
  var run: KdigRun
  var seconds: Double

  static func kdig(_ args: [String]) throws -> TimedRun {
    let clock = ContinuousClock()
    let start = clock.now
    let r = try KdigProcess.run(args)
    let d = clock.now - start
    return TimedRun(run: r, seconds: Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
  }
}

@Suite struct NoVmlinuxAgreementTests {
  /// The commands compared, and how their outputs are reduced before comparing.
  static let commands: [(args: [String], compare: Compare)] = [
    (["info"], .infoLines),
    (["p", "init_mm.pgd"], .whole),
    (["p", "init_uts_ns.name.release"], .whole),
    (["p", "jiffies"], .whole),
    (["vtop", "0xfffffe0000000000"], .vtop),
    (["idt", "--verify-ro"], .verdict),
    (["cea", "--verify"], .verdict),
    (["bt"], .whole),
  ]

  enum Compare {
    case whole, infoLines, vtop, verdict
  }

  /// `text` reduced to what must agree.
  static func reduce(_ text: String, _ how: Compare) -> [String] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    switch how {
    case .whole:
      return lines
    case .infoLines:
      return lines.filter { line in
        !NoVmlinuxExceptions.infoLabels.contains { line.trimmingCharacters(in: .whitespaces).hasPrefix($0) }
      }
    case .vtop:
      // pageflag_names is read from the dump's .rodata without a vmlinux: the whole output agrees.
      return lines
    case .verdict:
      // NoVmlinuxExceptions.checkDescriptions: the summary line, then each check's status
      // and name, and each finding's code.
      var out = [lines.first ?? ""]
      for line in lines {
        let words = line.split(separator: " ")
        if let first = words.first, ["PASSED", "FAILED", "SKIPPED", "WARNING"].contains(String(first)), words.count > 1 {
          out.append("\(first) \(words[1])")
        } else if let first = words.first, first.hasPrefix("[") && first.hasSuffix("]") {
          out.append(String(first))
        }
      }
      return out
    }
  }

  @Test(arguments: Samples.forTests)
  func commandsAgree(sample: Sample) throws {
    let s = try sample.require()
    var withTime = 0.0
    var withoutTime = 0.0
    // Steady state for both modes: the vmlinux mode's DWARF index and the no-vmlinux mode's
    // per-build copies of BTF, kallsyms and ORC (RegionCache) exist after one run each.
    _ = try KdigProcess.run(["bt", "--dump", s.file, "--vmlinux", s.vmlinux])
    _ = try KdigProcess.run(["bt", "--dump", s.file, "--no-vmlinux"])
    for (args, compare) in Self.commands {
      let with = try TimedRun.kdig(args + ["--dump", s.file, "--vmlinux", s.vmlinux])
      let without = try TimedRun.kdig(args + ["--dump", s.file, "--no-vmlinux"])
      let what = "\(s.name): kdig \(args.joined(separator: " "))"
      if let why = NoVmlinuxExceptions.unsupported(s) {
        // Said, not guessed: exit 3 (debug information missing) with the reason.
        #expect(without.run.status == 3, "\(what): \(without.run.stderr)")
        #expect(without.run.stderr.contains("VMCOREINFO"), "\(what) (\(why)): \(without.run.stderr)")
        continue
      }
      #expect(without.run.status == with.run.status, "\(what): exit \(without.run.status) vs \(with.run.status): \(without.run.stderr)")
      let a = Self.reduce(with.run.stdout, compare)
      let b = Self.reduce(without.run.stdout, compare)
      #expect(a == b, "\(what): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0) | \($1)" } ?? "in length \(a.count) vs \(b.count)")")
      #expect(!without.run.stderr.contains("no vmlinux found"), "\(what): --no-vmlinux must not announce a fallback")
      withTime += with.seconds
      withoutTime += without.seconds
    }
    // Time is measured by kdig-bench (release build, medians), not asserted here: a debug
    // build on a loaded CI machine says nothing about it (docs/benchmarks.md).
    if NoVmlinuxExceptions.unsupported(s) == nil {
      print("no-vmlinux timing \(s.name) (debug build): with \(String(format: "%.2f", withTime)) s, without \(String(format: "%.2f", withoutTime)) s")
    }
  }

  @Test(arguments: Samples.forTests)
  func drgnSymbolsAtTheSameAddresses(sample: Sample) throws {
    let s = try sample.require()
    if NoVmlinuxExceptions.unsupported(s) != nil {
      #expect(throws: (any Error).self) {
        try Session(dumpPath: s.file, vmlinuxPath: nil, noVmlinux: true).requireSymbolsAndTypes()
      }
      return
    }
    // drgn cannot open QEMU's kdump-zlib files: their twin (same memory) has the oracle.
    let twin = try s.same_memory_as.map { try Samples.named($0) }
    let drgn = try #require([s.drgn, twin?.drgn].compactMap { $0 }.first { $0.opened }, "\(s.name): no drgn oracle")
    let bare = try Session(dumpPath: s.file, vmlinuxPath: nil, noVmlinux: true)
    let full = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let mine = SymbolQuery(kernel: bare.kernel)
    let theirs = SymbolQuery(kernel: full.kernel)
    var compared = 0
    for sym in drgn.symbols {
      guard let name = sym["name"] as? String, let address = hexString(sym["address"]) else { continue }
      let answers = try mine.byName(name)
      #expect(answers.contains { $0.address.value == address }, "\(s.name) \(name): kallsyms \(answers.map(\.address)) drgn \(hex0x(address))")
      #expect(
        Set(answers.map(\.address.value)).isSubset(of: Set(try theirs.byName(name).map(\.address.value))),
        "\(s.name) \(name): kallsyms has an address the vmlinux does not")
      if let lookup = sym["lookup"] as? [String: Any], let probe = hexString(lookup["address"]),
        let offset = lookup["offset"] as? Int
      {
        let a = try mine.byAddress(probe)
        #expect(a.offset == UInt64(offset) && a.address.value - a.offset == hexString(lookup["symbol_address"]),
          "\(s.name) \(hex0x(probe)): kallsyms \(a.display), drgn +\(offset)")
      }
      compared += 1
    }
    #expect(compared >= 290, "\(s.name): only \(compared) oracle symbols compared")
  }

  @Test func fallbackIsAnnouncedOnceWhenNoVmlinuxIsFound() throws {
    let s = try Samples.named("6.12-qemu-kdump-zlib").require()
    // An empty search root: no vmlinux anywhere, so kdig falls back and says so on stderr.
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-empty-root-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let r = try KdigProcess.run(["p", "jiffies", "--dump", s.file], environment: ["KDIG_SYSROOT": root])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.hasPrefix("jiffies = "))
    #expect(r.stderr.components(separatedBy: "no vmlinux found").count == 2, "said exactly once: \(r.stderr)")
    let info = try KdigProcess.run(["info", "--dump", s.file], environment: ["KDIG_SYSROOT": root])
    #expect(info.stdout.contains("SYMBOLS: kallsyms in the dump"))
    #expect(info.stdout.contains("TYPES: BTF in the dump"))
  }

  @Test func contradictoryOptionsAreAUsageError() throws {
    let s = try Samples.named("6.12-qemu-kdump-zlib").require()
    let r = try KdigProcess.run(["sym", "jiffies", "--dump", s.file, "--vmlinux", s.vmlinux, "--no-vmlinux"])
    #expect(r.status == 64, "\(r.stderr)")
  }
}

/// The global variable declarations kdig uses without DWARF (KnownVariables) against the
/// DWARF of both kernels: the same type wherever the kernel has the variable.
@Suite struct KnownVariablesTests {
  @Test(arguments: ["6.1-qemu-elf", "6.12-qemu-elf"])
  func declarationsMatchDWARF(name: String) throws {
    let s = try Samples.named(name).require()
    let dwarf = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let bare = try Session(dumpPath: s.file, vmlinuxPath: nil, noVmlinux: true).kernel
    let btf = try bare.types()
    var checked = 0
    for variable in KnownVariables.declarations.keys.sorted() {
      guard let symbol = try dwarf.symbols().first(variable) else { continue }
      let want = try dwarf.types().variableType(variable, address: symbol.value)
      let have = try btf.variableType(variable, address: symbol.value)
      if case .array(let wantElement, let wantCount) = want.resolved, case .array(let haveElement, let haveCount) = have.resolved {
        // Configuration-sized arrays take their length from kallsyms' size, which may include
        // padding up to the next symbol: the element type must match, the length may be more.
        #expect(wantElement.name == haveElement.name, "\(name) \(variable): \(want.name) vs \(have.name)")
        #expect((haveCount ?? 0) >= (wantCount ?? 0), "\(name) \(variable): \(want.name) vs \(have.name)")
      } else {
        #expect(want.name == have.name, "\(name) \(variable): DWARF \(want.name), declared \(have.name)")
      }
      checked += 1
    }
    #expect(checked >= 30, "\(name): only \(checked) declarations checked")
  }
}
