// The per-CPU GDT and TSS against crash 8.0.2 on the 6.1 samples (Samples/oracles/
// percpu_crash.sh): crash's `rd -64` of each CPU's gdt_page, its CEA GDT alias, cpu_tss_rw
// and the CEA TSS alias hold exactly the descriptors and TSS fields kdig decodes.

import Foundation
import Kdig
import KdigTestSupport
import KdigX86
import Testing

@Suite struct PerCPUCrashTests {
  /// `crash> rd -64 ADDR N` blocks: address → the quadwords crash printed.
  static func rdBlocks(_ text: String) -> [UInt64: [UInt64]] {
    var out: [UInt64: [UInt64]] = [:]
    var current: UInt64?
    for line in text.split(separator: "\n") {
      if line.hasPrefix("crash> rd -64 ") {
        let parts = line.split(separator: " ")
        current = parts.count >= 4 ? UInt64(parts[3], radix: 16) : nil
        if let c = current { out[c] = [] }
        continue
      }
      if line.hasPrefix("crash>") { current = nil }
      guard let c = current, let colon = line.firstIndex(of: ":") else { continue }
      let words = line[line.index(after: colon)...].split(separator: " ").prefix(2).compactMap { UInt64($0, radix: 16) }
      out[c, default: []] += words
    }
    return out
  }

  static let withCrash = Samples.forTests.filter { $0.oracles?["percpu.crash"] != nil || $0.oracles == nil }

  @Test(arguments: withCrash)
  func gdtAndTSSEqualCrash(sample: Sample) throws {
    let s = try sample.require()
    #expect(s.kernel_release.hasPrefix("6.1."), "\(s.name): crash reads only the 6.1 samples")
    let text = try String(contentsOfFile: try #require(s.oracles?["percpu.crash"]), encoding: .utf8)
    #expect(text.contains("# exit status: 0"), "\(s.name): crash failed")
    let blocks = Self.rdBlocks(text)
    let report = try PerCPUVerifier(kernel: try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel).report()
    #expect(report.cpus.count >= 2)
    for state in report.cpus {
      let gdt = try #require(state.gdt)
      let tss = try #require(state.tss)
      let mine = gdt.entries.map(\.raw.value)
      #expect(blocks[gdt.alias.value] == mine, "\(s.name) CPU \(gdt.cpu): GDT alias")
      #expect(blocks[try #require(gdt.backing).value] == mine, "\(s.name) CPU \(gdt.cpu): gdt_page")
      for address in [tss.alias.value, try #require(tss.backing).value] {
        let words = try #require(blocks[address], "\(s.name) CPU \(tss.cpu): no rd of \(hex0x(address))")
        let bytes = words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> UInt64(8 * $0)) } }
        let t = try TaskStateSegment(bytes: Array(bytes.prefix(TaskStateSegment.size)))
        #expect(t.sp0 == tss.sp0.value && t.sp1 == tss.sp1.value && t.sp2 == tss.sp2.value, "\(s.name) CPU \(tss.cpu)")
        #expect(t.ist == tss.ist.map(\.value.value), "\(s.name) CPU \(tss.cpu): ist")
        #expect(Int(t.ioBitmapBase) == tss.ioBitmapBase, "\(s.name) CPU \(tss.cpu): io_bitmap_base")
      }
    }
  }
}
