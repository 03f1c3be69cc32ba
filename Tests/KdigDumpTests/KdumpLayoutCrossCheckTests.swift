// A compressed kdump whose header fields each look sane but disagree must be called corrupt
// at open (issue 11): before these checks, a sub_hdr_size one block too large moved the
// bitmaps and descriptors, and the page-table root read as "page excluded from this dump
// (filtered by makedumpfile)". Tested on built files and on corrupted copies of the real
// makedumpfile samples (plain and flattened).

import Foundation
import KdigBinary
import KdigDump
import KdigTestSupport
import Testing

/// The BinaryError opening `bytes` throws, or an issue.
private func openFailure(_ bytes: [UInt8], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) -> BinaryError? {
  let file = KdumpBuilder.MemoryFile(name: "cross.vmcore", bytes: bytes)
  do {
    _ = try openDump(source: file, path: "cross.vmcore", fileSize: file.size)
    Issue.record("\(label): opened", sourceLocation: sourceLocation)
  } catch let e as BinaryError {
    #expect(e.description.contains("cross.vmcore"), "\(label): \(e)", sourceLocation: sourceLocation)
    return e
  } catch {
    Issue.record("\(label): \(error)", sourceLocation: sourceLocation)
  }
  return nil
}

@Suite struct KdumpLayoutCrossCheckTests {
  static let built: BuiltKdump? = try? KdumpFixture.mixed().build()

  @Test func builtFixtureOpens() throws {
    let b = try #require(Self.built)
    _ = try b.open()
  }

  @Test func subHeaderSizeMustMatchTheNotes() throws {
    var b = try #require(Self.built)
    let sub = UInt32(b.bitmapOffset / 4096 - 1)
    b.patch(432, sub + 1)
    let e = try #require(openFailure(b.bytes, "sub_hdr_size + 1"))
    #expect(e.offset == 432)
    #expect(e.expected.contains("sub_hdr_size \(sub)") && e.found == "\(sub + 1)", "\(e)")
  }

  @Test func notesMustLieInTheSubHeaderBlocks() throws {
    var b = try #require(Self.built)
    b.patch(4096 + 48, UInt64(b.descriptorTableOffset))  // offset_note into the descriptor table
    let e = try #require(openFailure(b.bytes, "offset_note outside"))
    #expect(e.offset == 4096 + 48)
    #expect(e.expected.contains("the ELF note blob"), "\(e)")
  }

  @Test func maxMapnrFieldsMustAgree() throws {
    var b = try #require(Self.built)
    b.patch(440, UInt32(299))
    let e = try #require(openFailure(b.bytes, "max_mapnr 299 vs max_mapnr_64 300"))
    #expect(e.offset == 440)
    #expect(e.expected.contains("max_mapnr 0x12c"), "\(e)")
  }

  @Test func bitmapBlocksMustFitMaxMapnr() throws {
    var b = try #require(Self.built)
    b.patch(436, UInt32(3))  // 1 block per bitmap: 2 expected, or 1
    let e = try #require(openFailure(b.bytes, "bitmap_blocks 3"))
    #expect(e.offset == 436)
    #expect(e.expected.contains("bitmap_blocks 2"), "\(e)")
  }

  @Test func dumpedPagesMustBeRAM() throws {
    var b = try #require(Self.built)
    // pfn 45 is a hole (bitmap 1 clear): mark it dumped in bitmap 2.
    let bitmap2 = b.bitmapOffset + 4096
    b.patch(bitmap2 + 5, bytes: [b.bytes[bitmap2 + 5] | 0x20])
    let e = try #require(openFailure(b.bytes, "bitmap 2 over a hole"))
    #expect(e.offset == UInt64(bitmap2 + 5))
    #expect(e.found == "pfn 0x2d dumped but not RAM", "\(e)")
  }

  @Test func firstDescriptorMustPointPastTheTable() throws {
    var b = try #require(Self.built)
    b.patch(b.descriptorTableOffset, UInt64(b.descriptorTableOffset))  // page_desc[0] into the table
    let e = try #require(openFailure(b.bytes, "page_desc[0] inside the table"))
    #expect(e.offset == UInt64(b.descriptorTableOffset))
    #expect(e.expected.contains("page_desc[0]"), "\(e)")
  }

  /// The real makedumpfile samples, with sub_hdr_size one and two blocks too large, and one
  /// too small; the flattened one patched through its records.
  @Test(arguments: ["6.12-kdump-zlib-d31", "6.1-kdump-lzo-d31", "6.12-kdump-zlib-d31-flat"])
  func corruptSubHeaderSizeOnRealSamples(name: String) throws {
    let s = try Samples.named(name).require()
    let copy = try PatchableCopy(copying: s.file, name: "subhdr")
    let logical = try LogicalFile(try DumpBytes(path: s.file))
    let flat = logical.flattened ? " (flattened)" : ""
    for value: UInt64 in [3, 4, 1] {
      let patches = logical.patches(432, littleEndian(value, width: 4))
      try copy.with(patches) {
        do {
          _ = try openDump(path: copy.path)
          Issue.record("\(name): sub_hdr_size \(value) opened")
        } catch let e as BinaryError {
          #expect(e.category == .malformedInput)
          #expect(e.file == copy.path + flat, "\(e)")
          #expect(e.description.contains("sub_hdr_size"), "\(name) \(value): \(e)")
          #expect(!e.description.contains("excluded"))
        }
        let r = try KdigProcess.run(["vtop", "0xfffffe0000000000", "--dump", copy.path, "--vmlinux", s.vmlinux])
        #expect(r.status == 2, "\(name) \(value): \(r.stderr)")
        #expect(r.stderr.contains(copy.path) && r.stderr.contains("offset 0x") && r.stderr.contains("sub_hdr_size"))
        #expect(!r.stdout.contains("excluded"), "\(r.stdout)")
      }
    }
  }
}
