// Shared kdump fixtures for the reader, flattened and malformed-input tests: one machine
// with every kind of pfn (zero, raw, each codec, incompressible, hole, excluded) and
// helpers that read pages and catch MemoryErrors.

import KdigBinary
import KdigCodecs
import KdigDump
import KdigMemory
import KdigTestSupport
import Testing

enum KdumpFixture {
  static let maxPFN: UInt64 = 300
  static let holes: [Range<UInt64>] = [40..<60, 200..<257]
  static let excluded: Range<UInt64> = 60..<70
  /// RAM ranges in pfns: everything that is not a hole.
  static let ramRuns: [Range<UInt64>] = [0..<40, 60..<200, 257..<300]
  static let vmcoreinfo = "OSRELEASE=6.12.0-kdig-test\nPAGESIZE=4096\nNUMBER(phys_base)=16777216\n"

  /// pfn 0 and 70 zero, 13 incompressible, the rest cycling raw/zlib/lzo/snappy/zstd.
  static func mixed(version: Int32 = 6, codecs: [KdumpBuilder.Storage]? = nil) -> KdumpBuilder {
    var b = KdumpBuilder(maxPFN: maxPFN)
    b.headerVersion = version
    let cycle = codecs ?? [.raw] + PageCompression.allCases.map { .compressed($0) }
    for pfn in ramRuns.joined() {
      b.pages[pfn] = .data(KdumpBuilder.samplePage(pfn), cycle[Int(pfn) % cycle.count])
    }
    for pfn in excluded { b.pages[pfn] = .excluded }
    b.pages[0] = .zero
    b.pages[70] = .zero
    b.pages[13] = .data(KdumpBuilder.randomPage(seed: 13), .compressed(.zlib))
    b.vmcoreinfo = vmcoreinfo
    let regs = (0..<27).map { UInt64($0) &* 0x0101_0101 }
    b.notes = KdumpBuilder.prstatusNote(pid: 1, registers: regs)
      + KdumpBuilder.prstatusNote(pid: 42, registers: regs)
    return b
  }

  /// The MemoryError a read of `count` bytes at `address` throws, or nil if it succeeds.
  static func readError(_ dump: any DumpFile, _ address: UInt64, count: Int = 8) -> MemoryError? {
    do {
      _ = try dump.bytes(at: address, count: count)
      return nil
    } catch {
      return error
    }
  }

  /// Checks every page the builder stored reads back as its known contents.
  static func expectAllPages(
    _ dump: any DumpFile, _ built: BuiltKdump, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    #expect(!built.contents.isEmpty, sourceLocation: sourceLocation)
    for (pfn, expected) in built.contents.sorted(by: { $0.key < $1.key }) {
      let got = try dump.bytes(at: pfn * 4096, count: 4096)
      #expect(got == expected, "pfn \(pfn)", sourceLocation: sourceLocation)
    }
  }
}
