// The makedumpfile-format writer behind `kdig extract`: what it writes reads back through
// kdig's reader (and its layout cross-checks) byte for byte; pages left out read as excluded
// when they were RAM and as holes when they were not; one zero page is shared; notes keep
// their bytes and offset_vmcoreinfo points at the VMCOREINFO text. The real-dump side
// (crash and drgn open extracts): ExtractOracleTests.

import Foundation
import KdigBinary
import KdigCodecs
import KdigDump
import KdigMemory
import KdigTestSupport
import Testing

@Suite struct KdumpWriterTests {
  static let pageSize = 4096
  /// RAM: pfns 1-9 and 16-39; 10-15 are a hole. Stored: a few of each kind.
  static let ram: [Range<UInt64>] = [1..<10, 16..<40]
  static let stored: [UInt64] = [1, 2, 3, 8, 17, 20, 39]
  static let zeroPages: Set<UInt64> = [3, 20]
  static let vmcoreinfo = "OSRELEASE=6.12.0-kdig-test\nPAGESIZE=4096\n"

  static func content(_ pfn: UInt64) -> [UInt8] {
    if zeroPages.contains(pfn) { return [UInt8](repeating: 0, count: pageSize) }
    if pfn == 8 {  // incompressible: stored raw
      var g = SystemRandomNumberGenerator()
      return (0..<pageSize).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
    return (0..<pageSize).map { UInt8(truncatingIfNeeded: Int(pfn) &* 31 &+ $0 / 7) }
  }

  static func write(codec: PageCompression?, notes: [RawNote]) throws -> (String, KdumpWriter.Written, [UInt64: [UInt8]]) {
    var h = KdumpHeaderFields()
    h.release = "6.12.0-kdig-test"
    h.nodename = "fixture"
    h.cpus = 2
    h.physBase = 0x1_0000_0000
    let writer = KdumpWriter(header: h, notes: notes, maxPFN: 40, ramFrames: ram, codec: codec)
    let contents = Dictionary(uniqueKeysWithValues: stored.map { ($0, content($0)) })
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-writer-\(UUID().uuidString)").path
    let written = try writer.write(to: path, pfns: stored) { pfn in contents[pfn] ?? [] }
    return (path, written, contents)
  }

  static let notes = [
    RawNote(name: "CORE", type: 1, desc: [UInt8](repeating: 0xab, count: 336)),
    RawNote(name: "VMCOREINFO", type: 0, desc: Array(vmcoreinfo.utf8)),
    RawNote(name: DumpNotes.kdigNoteName, type: DumpNotes.kdigNoteType, desc: Array("from elf-qemu x.vmcore".utf8) + [0]),
  ]

  @Test(arguments: [PageCompression.zlib, .lzo, .snappy, .zstd, nil])
  func pagesReadBackByteExact(_ codec: PageCompression?) throws {
    let (path, written, contents) = try Self.write(codec: codec, notes: Self.notes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dump = try openDump(path: path)
    #expect(dump.summary.format == .kdumpCompressed)
    #expect(dump.summary.compression == (codec?.rawValue ?? "none"))
    #expect(dump.summary.headerVersion == 6 && dump.summary.dumpLevel == 31)
    #expect(dump.summary.maxPFN == 40 && dump.summary.dumpedPages == UInt64(Self.stored.count))
    #expect(dump.summary.headerPhysBase == 0x1_0000_0000 && dump.summary.headerCPUs == 2)
    #expect(dump.summary.headerRelease == "6.12.0-kdig-test")
    #expect(written.pages == Self.stored.count && written.zeroPages == 2)
    // Compressed: every page but the random one and the zero pages.
    #expect(written.compressedPages == (codec == nil ? 0 : Self.stored.count - 3))
    for pfn in Self.stored {
      #expect(try dump.bytes(at: pfn * 4096, count: 4096) == contents[pfn], "pfn \(pfn)")
    }
    #expect(dump.ranges == Self.ram.map { PhysicalRange(start: $0.lowerBound * 4096, end: $0.upperBound * 4096) })
    // One shared zero page: file = header + sub-header + bitmaps + descriptors + data.
    let data = FileManager.default.contents(atPath: path)?.count ?? 0
    #expect(UInt64(data) == written.fileSize)
  }

  @Test func leftOutPagesSayWhy() throws {
    let (path, _, _) = try Self.write(codec: .zlib, notes: Self.notes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dump = try openDump(path: path)
    func reason(_ pfn: UInt64) -> MemoryError.Reason? {
      do {
        _ = try dump.bytes(at: pfn * 4096, count: 8)
        return nil
      } catch { return error.reason }
    }
    #expect(reason(4) == .excluded)  // RAM, not kept
    #expect(reason(12) == .hole)  // not RAM
    #expect(reason(0) == .hole)
    #expect(reason(17) == nil)
    if case .beyondEnd = reason(40) {} else { Issue.record("pfn 40 must be beyond max_mapnr") }
  }

  @Test func notesKeepTheirBytes() throws {
    let (path, _, _) = try Self.write(codec: .zlib, notes: Self.notes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let dump = try openDump(path: path)
    #expect(dump.notes.records == Self.notes)
    #expect(dump.notes.vmcoreinfo == Self.vmcoreinfo)
    #expect(dump.notes.kdigExtract == "from elf-qemu x.vmcore")
    #expect(dump.summary.producer == "kdig extract (from elf-qemu x.vmcore)")
    // offset_vmcoreinfo (sub-header +32) points at the text inside the note blob, as
    // makedumpfile writes it, so readers that use only that field (crash, libkdumpfile) find it.
    let file = try MappedFile(path: path)
    let sub = try file.view(at: 4096, count: 104, "sub-header")
    let offset = try sub.u64(32, "offset_vmcoreinfo")
    let size = try sub.u64(40, "size_vmcoreinfo")
    let text = try file.view(at: offset, count: Int(size), "VMCOREINFO").array(0, Int(size), "text")
    #expect(String(decoding: text, as: UTF8.self) == Self.vmcoreinfo)
  }

  @Test func noPagesStillOpens() throws {
    let writer = KdumpWriter(header: KdumpHeaderFields(), notes: [], maxPFN: 40, ramFrames: Self.ram, codec: .zlib)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-writer-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    _ = try writer.write(to: path, pfns: []) { _ in [] }
    let dump = try openDump(path: path)
    #expect(dump.summary.dumpedPages == 0)
  }

  @Test func refusesPagesBeyondMaxMapnr() throws {
    let writer = KdumpWriter(header: KdumpHeaderFields(), notes: [], maxPFN: 40, ramFrames: Self.ram, codec: nil)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-writer-\(UUID().uuidString)").path
    #expect(throws: BinaryError.self) { _ = try writer.write(to: path, pfns: [41]) { _ in [] } }
    #expect(!FileManager.default.fileExists(atPath: path))
  }
}
