// Reading well-formed compressed kdumps: every page byte-exact for every codec, reads that
// cross pages, the four "not in dump" reasons, header versions 1-6, split parts, legacy
// diskdump, single-bitmap files and QEMU-made files. Expected bytes come from the builder.

import Foundation
import KdigBinary
import KdigCodecs
import KdigDump
import KdigMemory
import KdigTestSupport
import Testing

@Suite struct KdumpReaderTests {
  @Test func mixedCodecsReadBackByteExact() throws {
    let built = try KdumpFixture.mixed().build()
    // The fixture is only meaningful if every codec and raw storage really occur.
    for codec in PageCompression.allCases {
      #expect(built.storedCodecs.values.contains(codec), "no \(codec) page was stored")
    }
    #expect(built.storedCodecs[13] == nil, "the incompressible page must be stored raw")
    try KdumpFixture.expectAllPages(try built.open(), built)
  }

  @Test(arguments: PageCompression.allCases)
  func singleCodecDumpReadsBack(codec: PageCompression) throws {
    var b = KdumpFixture.mixed(codecs: [.compressed(codec)])
    b.status = codec.flag
    let built = try b.build()
    #expect(built.storedCodecs.count > 200)
    #expect(built.storedCodecs.values.allSatisfy { $0 == codec })
    let dump = try built.open()
    #expect(dump.summary.compression == codec.rawValue)
    try KdumpFixture.expectAllPages(dump, built)
  }

  @Test func readsCrossPageBoundaries() throws {
    let built = try KdumpFixture.mixed().build()
    let dump = try built.open()
    let flat = (0..<40).flatMap { built.contents[UInt64($0)] ?? [] }
    for (start, count) in [(100, 4096), (4095, 2), (3 * 4096 - 5, 4096 * 5 + 11), (0, 40 * 4096), (1, 1)] {
      let got = try dump.bytes(at: UInt64(start), count: count)
      #expect(got == Array(flat[start..<(start + count)]), "read of \(count) at \(start)")
    }
    // Reading the same bytes again (from the page cache) gives the same answer.
    #expect(try dump.bytes(at: 100, count: 4096) == Array(flat[100..<4196]))
  }

  @Test func summaryAndNotes() throws {
    var b = KdumpFixture.mixed()
    b.excludedVmemmap = true
    let dump = try b.build().open()
    let s = dump.summary
    #expect(s.format == .kdumpCompressed)
    #expect(s.producer == "makedumpfile")
    #expect(s.compression == "zlib")
    #expect(s.headerVersion == 6)
    #expect(s.dumpLevel == 31)
    #expect(s.maxPFN == 300)
    #expect(s.headerCPUs == 2)
    #expect(s.headerRelease == "6.12.0-kdig-test")
    #expect(s.headerPhysBase == 0x1_0000_0000)
    #expect(s.excludedVmemmap)
    #expect(!s.incomplete && !s.flattened)
    #expect(s.splitRange == nil)
    #expect(s.dumpedPages == 40 + 140 - 10 + 43)
    #expect(dump.notes.vmcoreinfo == KdumpFixture.vmcoreinfo)
    #expect(dump.notes.prstatus.map(\.pid) == [1, 42])
    #expect(dump.notes.prstatus.first?.register("rip") == 16 &* 0x0101_0101)
  }

  @Test func rangesAreTheRunsOfBitmapOne() throws {
    let dump = try KdumpFixture.mixed().build().open()
    let expected = KdumpFixture.ramRuns.map { PhysicalRange(start: $0.lowerBound * 4096, end: $0.upperBound * 4096) }
    #expect(dump.ranges == expected)
    #expect(dump.describedMemorySize == 223 * 4096)
  }

  @Test func notInDumpReasonsAreDistinct() throws {
    var b = KdumpFixture.mixed()
    b.pages[299] = .lost
    b.incompleteFlag = true
    let dump = try b.build().open(name: "reasons.vmcore")
    let cases: [(UInt64, MemoryError.Reason)] = [
      (300 * 4096, .beyondEnd(maxPFN: 300)), (45 * 4096 + 8, .hole), (65 * 4096, .excluded),
      (299 * 4096 + 100, .incomplete), (UInt64.max - 3, .beyondEnd(maxPFN: 300)),
    ]
    for (address, reason) in cases {
      let error = try #require(KdumpFixture.readError(dump, address))
      #expect(error.reason == reason, "address 0x\(hex(address))")
      #expect(error.category == .notInDump)
      #expect(error.description.contains("reasons.vmcore"))
      #expect(error.description.contains("0x\(hex(error.address))"))
    }
    #expect(dump.summary.incomplete)
    // A read that starts in RAM and runs into a hole reports the first missing byte.
    let spanning = try #require(KdumpFixture.readError(dump, 39 * 4096 + 4000, count: 200))
    #expect(spanning.reason == .hole && spanning.address == 40 * 4096)
  }

  @Test(arguments: [0, 1, 2, 3, 4, 5, 6] as [Int32])
  func headerVersions(version: Int32) throws {
    let built = try KdumpFixture.mixed(version: version).build()
    let dump = try built.open()
    #expect(dump.summary.headerVersion == Int(version))
    #expect(dump.summary.maxPFN == 300)
    #expect(dump.notes.vmcoreinfo == (version >= 3 ? KdumpFixture.vmcoreinfo : nil))
    #expect(dump.notes.prstatus.count == (version >= 4 ? 2 : 0))
    #expect(dump.summary.headerPhysBase == (version >= 1 ? 0x1_0000_0000 : nil))
    try KdumpFixture.expectAllPages(dump, built)
  }

  @Test func splitPartsHoldTheirOwnRanges() throws {
    let parts: [Range<UInt64>] = [0..<100, 100..<230, 230..<300]
    var total: UInt64 = 0
    for part in parts {
      var b = KdumpFixture.mixed()
      b.split = part
      let built = try b.build()
      let dump = try built.open(name: "part-\(part.lowerBound).vmcore")
      #expect(dump.summary.splitRange == ClosedRangeCodable(start: part.lowerBound, end: part.upperBound))
      #expect(built.contents.keys.allSatisfy { part.contains($0) })
      try KdumpFixture.expectAllPages(dump, built)
      total += dump.summary.dumpedPages ?? 0
      for pfn in [UInt64(5), 150, 280] where !part.contains(pfn) {
        #expect(KdumpFixture.readError(dump, pfn * 4096)?.reason == .notCovered, "pfn \(pfn)")
      }
      #expect(dump.ranges.allSatisfy { $0.start >= part.lowerBound * 4096 && $0.end <= part.upperBound * 4096 })
    }
    #expect(total == 213)
  }

  @Test func legacyDiskdump() throws {
    var b = KdumpFixture.mixed()
    b.signature = .diskdump
    b.status = 0
    let built = try b.build()
    let dump = try built.open()
    #expect(dump.summary.format == .diskdump)
    #expect(dump.notes.prstatus.isEmpty && dump.notes.vmcoreinfo == nil)
    #expect(dump.summary.maxPFN == 300)
    try KdumpFixture.expectAllPages(dump, built)
    #expect(KdumpFixture.readError(dump, 45 * 4096)?.reason == .hole)
  }

  @Test func singleBitmapFilesCannotTellHolesFromExclusions() throws {
    var b = KdumpFixture.mixed()
    b.singleBitmap = true
    let built = try b.build()
    let dump = try built.open()
    try KdumpFixture.expectAllPages(dump, built)
    #expect(KdumpFixture.readError(dump, 45 * 4096)?.reason == .excluded)
    #expect(KdumpFixture.readError(dump, 65 * 4096)?.reason == .excluded)
  }

  @Test(arguments: ["", "Unknown"])
  func qemuMadeFile(machine: String) throws {
    var b = KdumpBuilder.qemu(maxPFN: 64, vmcoreinfo: "OSRELEASE=6.1.0\n")
    b.machine = machine
    for pfn in 0..<UInt64(64) where pfn % 9 != 4 {
      b.pages[pfn] = pfn % 3 == 0 ? .zero : .data(KdumpBuilder.samplePage(pfn), .compressed(.zlib))
    }
    let built = try b.build()
    let dump = try built.open()
    #expect(dump.summary.format == .kdumpQEMU)
    #expect(dump.summary.producer == "QEMU dump-guest-memory")
    #expect(dump.summary.headerRelease == "")
    #expect(dump.notes.qemuCPUs.count == 2)
    #expect(dump.notes.qemuCPUs.first?.cr3 == 0x1234000)
    #expect(dump.notes.vmcoreinfo == "OSRELEASE=6.1.0\n")
    try KdumpFixture.expectAllPages(dump, built)
  }

  @Test func opensFromAPathByContent() throws {
    let built = try KdumpFixture.mixed().build()
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-kdump-\(getpid()).bin").path
    try Data(built.bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dump = try openDump(path: path)
    #expect(dump is KdumpDump)
    #expect(dump.fileSize == UInt64(built.bytes.count))
    try KdumpFixture.expectAllPages(dump, built)
  }

  @Test func openingDoesNotDecodePages() throws {
    var built = try KdumpFixture.mixed().build()
    // Garbage over the zlib data of page 21 still opens; only reading page 21 fails.
    #expect(built.storedCodecs[21] == .zlib)
    let at = try #require(built.dataOffsets[21])
    built.patch(at, bytes: [UInt8](repeating: 0xA5, count: 64))
    let dump = try built.open()
    #expect(try dump.bytes(at: 22 * 4096, count: 16) == Array(KdumpBuilder.samplePage(22).prefix(16)))
    let error = try #require(KdumpFixture.readError(dump, 21 * 4096))
    #expect(error.description.contains("offset 0x\(hex(UInt64(at)))"))
    guard case .corrupt = error.reason else {
      Issue.record("expected corrupt, got \(error)")
      return
    }
  }
}
