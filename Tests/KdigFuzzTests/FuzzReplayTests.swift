// The fuzz targets' kept inputs, replayed in-process in the ordinary (debug, unsanitized)
// build: every crasher under Fuzz/Regressions/<target>/ and every tiny seed under
// Fuzz/Seeds/<target>/ must run through its target without a trap. Each target must have
// at least one input, so the suite cannot pass by finding nothing.

import Foundation
import KdigAnalyzers
@testable import KdigFuzzTargets
import Testing

@Suite struct FuzzReplayTests {
  /// The repository root: this file is Tests/KdigFuzzTests/FuzzReplayTests.swift.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

  @Test(arguments: FuzzTarget.allCases)
  func replaysKeptInputs(_ target: FuzzTarget) throws {
    let files = FuzzCorpus.committed(target, root: Self.root)
    #expect(files.count > 0, "no input under Fuzz/Regressions/\(target.rawValue) or Fuzz/Seeds/\(target.rawValue)")
    for file in files {
      let bytes = try #require(FileManager.default.contents(atPath: file), "cannot read \(file)")
      target.run(Array(bytes))
    }
  }

  /// The committed tiny seeds are what TinySeeds makes; KDIG_FUZZ_WRITE_SEEDS=1 rewrites them.
  @Test func tinySeedsAreCommitted() throws {
    let seeds = try TinySeeds.all()
    if ProcessInfo.processInfo.environment["KDIG_FUZZ_WRITE_SEEDS"] == "1" {
      for (target, name, bytes) in seeds {
        let dir = "\(Self.root)/Fuzz/Seeds/\(target.rawValue)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
      }
    }
    for (target, name, _) in seeds {
      let path = "\(Self.root)/Fuzz/Seeds/\(target.rawValue)/\(name)"
      #expect(FileManager.default.fileExists(atPath: path), "\(path) missing: run with KDIG_FUZZ_WRITE_SEEDS=1")
    }
  }

  /// The vmlinux seed (Fuzz/Seeds/make-vmlinux-seed.sh: gcc and ld, not TinySeeds) goes all
  /// the way too: symbols from its .symtab, types and members from its DWARF.
  @Test func vmlinuxSeedReachesTheEnd() throws {
    let path = "\(Self.root)/Fuzz/Seeds/vmlinux/tiny-vmlinux"
    let bytes = try #require(FileManager.default.contents(atPath: path), "\(path): run Fuzz/Seeds/make-vmlinux-seed.sh")
    try FuzzTarget.vmlinux.check(Array(bytes))
    // A damaged copy ends in an error, not a trap (section headers past the end).
    var cut = Array(bytes)
    cut.replaceSubrange(0x28..<0x30, with: [0xff, 0xff, 0xff, 0, 0, 0, 0, 0])
    #expect(throws: (any Error).self) { try FuzzTarget.vmlinux.check(cut) }
  }

  /// Seeds meant to stop before the end: a diskdump has no VMCOREINFO to place the kernel.
  static let stopEarly: Set<String> = ["tiny-diskdump.kdump"]

  /// Each tiny seed goes all the way through its target (no early error), so the fuzzer
  /// starting from it starts deep.
  @Test func tinySeedsReachTheEnd() throws {
    for (target, name, bytes) in try TinySeeds.all() where !Self.stopEarly.contains(name) {
      do {
        try target.check(bytes)
      } catch {
        Issue.record("\(target.rawValue)/\(name) stops early: \(error)")
      }
    }
  }
}

/// What the kept crashers were kept for: the fix, not only the absence of a trap.
@Suite struct FuzzRegressionTests {
  static func input(_ target: FuzzTarget, _ name: String) throws -> [UInt8] {
    let path = "\(FuzzReplayTests.root)/Fuzz/Regressions/\(target.rawValue)/\(name)"
    return Array(try #require(FileManager.default.contents(atPath: path), "cannot read \(path)"))
  }

  /// count_bits 26, head 2^26 - 1 ids past the tail, arrays over missing memory: the walk
  /// stops at KernelLogReader.maxDescriptors and says so first.
  @Test func printkWalkIsCappedAtTheLimit() throws {
    let input = KernelMemoryInput(try Self.input(.printk, "count-bits-26-over-missing-memory.bin"))
    let layout = try PrintkLayout.fromVMCoreInfo(input.info).get()
    let log = try KernelLogReader(memory: input.memory, layout: layout).read()
    guard case .gap(let first) = try #require(log.entries.first) else {
      Issue.record("expected a gap first")
      return
    }
    #expect(first.reason.contains("more than kdig reads (1048576)"), "\(first.reason)")
    #expect(first.count == (1 << 26) - (1 << 20))
    #expect(log.entries.reduce(0) { if case .gap(let g) = $1 { $0 + g.count } else { $0 } } == 1 << 26)
    // The fuzzer's smaller limit ends the same way, sooner.
    let short = try KernelLogReader(memory: input.memory, layout: layout, descriptorLimit: PrintkTarget.descriptorLimit).read()
    guard case .gap(let head) = try #require(short.entries.first) else {
      Issue.record("expected a gap first")
      return
    }
    #expect(head.reason.contains("more than kdig reads (1024)"), "\(head.reason)")
    #expect(head.count == (1 << 26) - (1 << 10))
  }

  /// kallsyms_num_syms 4,000,000 over 240 bytes of names: refused before allocating.
  @Test func kallsymsCountBeyondTheNamesIsRefused() throws {
    do {
      try FuzzTarget.kallsyms.check(try Self.input(.kallsyms, "num-syms-4m-over-240-bytes-of-names.bin"))
      Issue.record("expected an error")
    } catch {
      #expect("\(error)".contains("kallsyms_num_syms 4000000 needs at least 8000000 bytes"), "\(error)")
    }
  }

  /// A PT_LOAD whose p_offset is near 2^64: a string at a link address inside it overflowed
  /// p_offset + (address - p_vaddr). The sum is checked now: the read is refused and the
  /// target goes on to the symbol table.
  @Test func vmlinuxLoadOffsetOverflowIsRefused() throws {
    let bytes = try Self.input(.vmlinux, "load-offset-overflow")
    do {
      try FuzzTarget.vmlinux.check(bytes)
    } catch {
      #expect(!"\(error)".isEmpty)
    }
  }
}
