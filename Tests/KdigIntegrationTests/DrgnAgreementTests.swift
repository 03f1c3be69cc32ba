// kdig against drgn 0.3.0 (an oracle no one here wrote) on every sample drgn can open:
// region bases, phys_base, utsname, symbols both ways, and memory reads.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct DrgnAgreementTests {
  static var drgnSamples: [Sample] {
    let all = Samples.forTests
    let opened = all.filter { $0.drgn?.opened == true }
    return opened.isEmpty ? all : opened
  }

  func open(_ sample: Sample) throws -> (Session, DrgnOracle) {
    let s = try sample.require()
    let oracle = try #require(s.drgn, "\(s.name): no drgn oracle output")
    return (try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux), oracle)
  }

  @Test(arguments: drgnSamples)
  func basesAndPhysBase(sample: Sample) throws {
    let (session, drgn) = try open(sample)
    let map = session.kernel.memoryMap()
    #expect(map.pageOffsetBase.value == drgn.hexValue("values", "page_offset_base"))
    #expect(map.vmallocBase.value == drgn.hexValue("values", "vmalloc_base"))
    #expect(map.vmemmapBase.value == drgn.hexValue("values", "vmemmap_base"))
    #expect(session.kernel.layout.physBase.value == drgn.hexValue("values", "phys_base"))
    #expect(session.kernel.layout.kaslrOffset.value == drgn.kaslrOffset)
    let info = MachineInfoAnalyzer(kernel: session.kernel).analyze()
    #expect(info.release?.value == drgn.uts["release"])
    #expect(info.version?.value == drgn.uts["version"])
    #expect(info.nodename?.value == drgn.uts["nodename"])
    #expect(info.cpusOnline?.value == drgn.intValue("values", "num_online_cpus"))
    #expect(info.cpusPossible.map { UInt64($0.value) } == drgn.hexValue("values", "nr_cpu_ids"))
  }

  @Test(arguments: drgnSamples)
  func symbolsBothWays(sample: Sample) throws {
    let (session, drgn) = try open(sample)
    let query = SymbolQuery(kernel: session.kernel)
    var checked = 0
    for sym in drgn.symbols {
      guard let name = sym["name"] as? String, let address = hexString(sym["address"]) else { continue }
      let answers = try query.byName(name)
      #expect(answers.contains { $0.address.value == address }, "\(name): kdig \(answers.map(\.address)) drgn \(hex0x(address))")
      if let lookup = sym["lookup"] as? [String: Any], let probe = hexString(lookup["address"]),
        let drgnName = lookup["name"] as? String, let offset = lookup["offset"] as? Int
      {
        let mine = try query.byAddress(probe)
        // Aliases share an address; drgn and kdig must agree on the symbol's start and offset.
        #expect(mine.offset == UInt64(offset), "\(hex0x(probe)): kdig \(mine.display) drgn \(drgnName)+\(offset)")
        #expect(mine.address.value - mine.offset == hexString(lookup["symbol_address"]))
        checked += 1
      }
    }
    #expect(checked >= 100, "only \(checked) address lookups compared")
  }

  @Test(arguments: drgnSamples)
  func memoryReads(sample: Sample) throws {
    let (session, drgn) = try open(sample)
    for (reads, physical) in [(drgn.virtualReads, false), (drgn.physicalReads, true)] {
      #expect(reads.count >= 10)
      for r in reads {
        guard let address = hexString(r["address"]) else { continue }
        let kind: AddressKind = physical ? .physical : .kernelVirtual
        if let expected = r["hex"] as? String {
          let words = try MemoryReader(kernel: session.kernel).words(at: address, count: 8, kind: kind)
          #expect(words.bytes == bytesFromHex(expected), "\(r["label"] ?? "") \(hex0x(address))")
        } else if let error = r["error"] as? String {
          // drgn could not read it: neither may kdig, and an excluded page must say so.
          do {
            _ = try MemoryReader(kernel: session.kernel).words(at: address, count: 8, kind: kind)
            Issue.record("kdig read \(hex0x(address)) that drgn could not: \(error)")
          } catch {
            if error.localizedDescription.contains("Excluded") || "\(error)".contains("excluded") {
              #expect("\(error)".contains("excluded"))
            }
          }
        }
      }
    }
  }
}
