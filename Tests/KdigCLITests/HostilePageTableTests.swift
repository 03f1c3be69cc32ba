// Page tables that fan in (issue 11): every kernel PGD entry -> one PUD page whose 512
// entries -> one PMD page -> one full page table. No path has a loop, yet each PGD entry
// reaches 2^27 leaves. Before the work bounds, `kdig ptdump` ran for ever on them and
// `kdig info` trapped ("arithmetic overflow" in humanSize). Both the patched real dump and a
// generated one must let every command end within the bound, exit 0-3, and never trap.

import Foundation
import KdigTestSupport
import Testing

@Suite(.serialized) struct HostilePageTableTests {
  static let commands: [[String]] = [
    ["info"], ["ptdump"], ["vtop", "0xfffffe0000000000"], ["idt", "--verify-ro"], ["cea", "--verify"],
  ]
  static let bound = 10.0

  func expectBounded(_ r: BoundedRun, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!r.timedOut && r.signal == nil, "\(what): \(r)", sourceLocation: sourceLocation)
    #expect((0...3).contains(r.status ?? -1), "\(what): \(r)", sourceLocation: sourceLocation)
    #expect(r.seconds < Self.bound, "\(what): \(r)", sourceLocation: sourceLocation)
    #expect(!r.stderr.contains("Fatal error"), "\(what): \(r)", sourceLocation: sourceLocation)
  }

  @Test func fanInOnTheRealDump() throws {
    let s = try Samples.named("6.12-qemu-elf").require()
    let facts = try MalformedDumps.facts(s)
    let mutants = try MalformedDumps.hostileTables(try DumpBytes(path: s.file), facts: facts, family: 0)
      .filter { $0.name.hasPrefix("tables.fan-in") }
    #expect(mutants.count == 3)
    let copy = try PatchableCopy(copying: s.file, name: "fan-in")
    for m in mutants {
      try copy.with(m.patches) {
        for c in Self.commands {
          let r = try BoundedProcess.run(KdigProcess.binary, c + ["--dump", copy.path, "--vmlinux", s.vmlinux], timeout: 30)
          expectBounded(r, "\(m.name) \(c)")
          if c == ["ptdump"] {
            #expect(r.status == 0, "\(m.name): \(r)")
            #expect(r.stdout.contains("NOT WALKED: same "), "\(m.name)")
            #expect(r.stdout.contains("NOTE: ") && r.stdout.contains("not walked again"), "\(m.name)")
          }
          if c == ["info"] && m.name.contains("kernel-address words") {
            // node_present_pages reads as 0xffffffff80000000 on every node: the total is
            // shown, marked implausible, instead of trapping.
            #expect(r.status == 0, "\(r)")
            #expect(r.stdout.contains("implausible"), "\(r.stdout)")
          }
        }
        let json = try BoundedProcess.run(
          KdigProcess.binary, ["ptdump", "--json", "--dump", copy.path, "--vmlinux", s.vmlinux], timeout: 30)
        let obj = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let result = try #require(obj?["result"] as? [String: Any], "\(json)")
        #expect((result["repeatedTables"] as? Int ?? 0) > 0)
        #expect(result["complete"] as? Bool == true)
        #expect((result["notes"] as? [String])?.isEmpty == false)
      }
    }
  }

  /// The same tables in a generated makedumpfile file: the real sample's VMCOREINFO (so its
  /// vmlinux matches) and nothing but the four table pages.
  @Test func fanInInAGeneratedDump() throws {
    let s = try Samples.named("6.12-qemu-elf").require()
    let facts = try MalformedDumps.facts(s)
    let f = try DumpBytes(path: s.file)
    let info = try #require(try ElfGeometry(f).vmcoreinfo)
    let spec = """
      @0x\(String(facts.rootTable + 256 * 8, radix: 16)) 0x10063*256   # PGD[256..511] -> PUD 0x10000
      @0x10000 0x11063*512          # PUD[*] -> PMD 0x11000
      @0x11000 0x12063*512          # PMD[*] -> PT 0x12000
      @0x12000 0x63*512+1000        # PTE[i] -> frame i
      """
    let memory = try PageTableSpec.memory(spec)
    var b = KdumpBuilder(maxPFN: (facts.rootTable >> 12) + 1024)
    b.vmcoreinfo = String(decoding: try f.bytes(info.offset, info.size), as: UTF8.self)
    for r in memory.ranges {
      b.pages[r.start >> 12] = .data(try memory.bytes(at: r.start, count: 4096), .compressed(.zlib))
    }
    let file = try TemporaryFile(try b.build().bytes, name: "fan-in-kdump")
    for c in Self.commands {
      let r = try BoundedProcess.run(KdigProcess.binary, c + ["--dump", file.path, "--vmlinux", s.vmlinux], timeout: 30)
      expectBounded(r, "generated \(c)")
      if c == ["ptdump"] {
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("NOT WALKED: same PUD table (physical 0x10000)"), "\(r.stdout.prefix(2000))")
      }
    }
  }
}
