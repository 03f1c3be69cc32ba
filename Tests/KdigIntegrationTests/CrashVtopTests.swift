// kdig's walk against crash 8.0.2's `vtop` on the 6.1 samples (≈10,000 addresses each): the
// entry chain crash prints (PUD/PMD/PTE entry address => value), its FLAGS column, and its
// answer. crash's PHYSICAL column is arithmetic for direct-map and kernel-text addresses
// (crash-utility/crash#107), so where it differs from crash's own PAGE line, the walk wins
// and the test counts those cases as crash's, not kdig's.

import Foundation
import Kdig
import KdigTestSupport
import Testing

/// One `vtop` block of a crash transcript.
struct CrashVtopBlock {
  var address: UInt64
  var physicalColumn: String
  var chain: [(level: String, entryAddress: UInt64, value: UInt64)] = []
  var page: UInt64?
  var flags: [String]?
  var error: String?

  /// Splits a transcript into blocks.
  static func parse(_ text: String) -> [CrashVtopBlock] {
    var blocks: [CrashVtopBlock] = []
    var current: CrashVtopBlock?
    var expectPhysical = false
    for raw in text.split(whereSeparator: \.isNewline) {
      let line = String(raw)
      if line.hasPrefix("crash> vtop ") {
        if let c = current { blocks.append(c) }
        current = CrashVtopBlock(address: UInt64(String(line.dropFirst(12)).trimmingWhitespace(), radix: 16) ?? 0, physicalColumn: "")
        expectPhysical = false
        continue
      }
      guard var c = current else { continue }
      let t = line.trimmingWhitespace()
      if t.hasPrefix("VIRTUAL") {
        expectPhysical = true
      } else if expectPhysical {
        let words = t.split(separator: " ", maxSplits: 1)
        c.physicalColumn = words.count > 1 ? String(words[1]).trimmingWhitespace() : ""
        expectPhysical = false
      } else if let r = t.range(of: "=>"), t.contains(":") {
        let level = String(t.prefix { $0 != ":" })
        let colon = t.firstIndex(of: ":") ?? t.startIndex
        let left = String(t[t.index(after: colon)..<r.lowerBound]).trimmingWhitespace()
        let right = String(t[r.upperBound...]).trimmingWhitespace()
        if let a = UInt64(left, radix: 16), let v = UInt64(right, radix: 16) { c.chain.append((level, a, v)) }
      } else if t.hasPrefix("PAGE:") {
        c.page = UInt64(t.dropFirst(5).split(separator: " ").first ?? "", radix: 16)
      } else if t.hasPrefix("PAGE DIRECTORY:") {
        c.chain.append(("PGD", 0, UInt64(String(t.dropFirst(15)).trimmingWhitespace(), radix: 16) ?? 0))
      } else if let open = t.firstIndex(of: "("), t.hasSuffix(")"), c.flags == nil, c.page != nil {
        c.flags = t[t.index(after: open)..<t.index(before: t.endIndex)].split(separator: "|").map(String.init)
      } else if t.hasPrefix("vtop:") {
        c.error = t
      }
      current = c
    }
    if let c = current { blocks.append(c) }
    return blocks
  }
}

@Suite struct CrashVtopTests {
  static var samples: [Sample] {
    let all = Samples.forTests
    let with = all.filter { FileManager.default.fileExists(atPath: Self.transcriptPath($0)) }
    return with.isEmpty ? all : with
  }

  static func transcriptPath(_ s: Sample) -> String { s.oracles?["vtop.crash"] ?? "" }

  @Test func everySixOneSampleHasACrashTranscript() throws {
    for s in try Samples.all() where s.kernel_release.hasPrefix("6.1.") {
      #expect(FileManager.default.fileExists(atPath: Self.transcriptPath(s)), "no crash vtop transcript for \(s.name)")
    }
  }

  @Test(arguments: samples)
  func walkAndFlagsMatchCrash(sample: Sample) throws {
    let s = try sample.require()
    let text = try String(contentsOfFile: Self.transcriptPath(s), encoding: .utf8)
    let blocks = CrashVtopBlock.parse(text).filter { $0.address >> 63 == 1 && $0.error == nil }
    #expect(blocks.count >= 5_000, "\(s.name): only \(blocks.count) kernel vtop blocks in crash's transcript")
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let walker = session.kernel.kernelSpace.walker
    let root = session.kernel.layout.rootTable.value
    var disagreements: [String] = []
    var crashArithmetic = 0
    var compared = 0
    for b in blocks {
      let walked = try? walker.walk(b.address, root: root)
      if let page = b.page {
        // crash walked to a page: so must kdig, to the same page, through the same entries.
        guard let t = walked else {
          disagreements.append("\(hex0x(b.address)): crash maps it to \(hex0x(page)), kdig does not")
          continue
        }
        if t.pageBase != page { disagreements.append("\(hex0x(b.address)): page kdig \(hex0x(t.pageBase)) crash \(hex0x(page))") }
        if let leaf = b.chain.last, leaf.value != t.leaf.raw {
          disagreements.append("\(hex0x(b.address)): leaf kdig \(hex0x(t.leaf.raw)) crash \(hex0x(leaf.value))")
        }
        if let flags = b.flags, flags != t.leaf.crashFlagNames {
          disagreements.append("\(hex0x(b.address)): flags kdig \(t.leaf.crashFlagNames) crash \(flags)")
        }
        if let column = UInt64(b.physicalColumn, radix: 16), column != t.physicalAddress { crashArithmetic += 1 }
        compared += 1
      } else if b.physicalColumn.hasPrefix("(not mapped)") || b.physicalColumn.hasPrefix("(not") {
        if let t = walked { disagreements.append("\(hex0x(b.address)): crash says not mapped, kdig \(hex0x(t.physicalAddress))") }
        compared += 1
      }
      if disagreements.count > 20 { break }
    }
    #expect(disagreements.isEmpty, "\(s.name): \(disagreements.prefix(20).joined(separator: "\n"))")
    #expect(compared >= 5_000, "\(s.name): compared only \(compared)")
    // Evidence for crash#107 (not a failure): how often crash's PHYSICAL column is not its walk.
    print("\(s.name): \(compared) vtops agree with crash's walk; crash's arithmetic PHYSICAL column differed \(crashArithmetic) times")
  }
}
