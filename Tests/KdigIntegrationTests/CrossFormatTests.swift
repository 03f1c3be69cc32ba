// The cross-format law: the same memory dumped in two formats gives identical bytes for every
// page both hold (QEMU ELF vs QEMU kdump-zlib; kdump /proc/vmcore vs makedumpfile outputs).

import Kdig
import KdigTestSupport
import Testing

@Suite struct CrossFormatTests {
  static var pairs: [Sample] {
    let all = Samples.forTests
    let paired = all.filter { $0.same_memory_as != nil }
    return paired.isEmpty ? all : paired
  }

  @Test(arguments: pairs)
  func everyPageBothHoldIsIdentical(sample: Sample) throws {
    let s = try sample.require()
    let reference = try Samples.named(try #require(s.same_memory_as)).require()
    let a = try openDump(path: s.file)
    let b = try openDump(path: reference.file)
    var compared = 0
    var onlyInReference = 0
    var bufferA = [UInt8](repeating: 0, count: 4096)
    var bufferB = [UInt8](repeating: 0, count: 4096)
    for range in b.ranges {
      var page = range.start & ~0xfff
      while page < range.end {
        defer { page += 4096 }
        let gotB = bufferB.withUnsafeMutableBytes { buf -> Bool in (try? b.read(page, into: buf)) != nil }
        guard gotB else { continue }
        do {
          try bufferA.withUnsafeMutableBytes { try a.read(page, into: $0) }
        } catch let error as MemoryError {
          // Filtered dumps drop pages; anything else is a reader bug.
          #expect(error.reason == .excluded || error.reason == .hole || error.reason == .notCovered, "\(hex0x(page)): \(error)")
          onlyInReference += 1
          continue
        }
        if bufferA != bufferB {
          Issue.record("\(s.name) and \(reference.name) differ at physical \(hex0x(page))")
          return
        }
        compared += 1
      }
    }
    #expect(compared > 10_000, "only \(compared) pages compared (\(onlyInReference) missing)")
    if s.dump_level == 31 { #expect(onlyInReference > 0, "a -d 31 dump excluded nothing") }
  }
}
