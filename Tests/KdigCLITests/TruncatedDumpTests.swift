// Real dumps cut short or corrupted: kdig must exit 2 with a message naming the file, the
// offset and what was expected — never trap, never hang.

import Foundation
import KdigTestSupport
import Testing

@Suite struct TruncatedDumpTests {
  /// Writes the first `length` bytes of `source` to a temporary file.
  func prefix(of source: String, length: Int) throws -> TemporaryFile {
    let handle = try #require(FileHandle(forReadingAtPath: source))
    defer { try? handle.close() }
    let data = try handle.read(upToCount: length) ?? Data()
    return try TemporaryFile(Array(data), name: "cut")
  }

  func expectMalformed(_ file: TemporaryFile, vmlinux: String, at cut: Int) throws {
    let r = try KdigProcess.run(["info", "--dump", file.path, "--vmlinux", vmlinux])
    #expect(r.status == 2, "cut at \(cut): status \(r.status), stderr \(r.stderr)")
    #expect(r.stderr.contains(file.path), "cut at \(cut): \(r.stderr)")
    #expect(r.stderr.contains("offset 0x") || r.stderr.contains("physical address"), "cut at \(cut): \(r.stderr)")
    #expect(!r.stderr.contains("Fatal error"), "cut at \(cut) trapped")
  }

  @Test(arguments: ["6.12-kdump-zlib-d31", "6.12-kdump-lzo-d31", "6.12-kdump-zlib-d31-flat", "6.1-qemu-kdump-zlib"])
  func compressedDumpsCutAnywhere(name: String) throws {
    let s = try Samples.named(name).require()
    let size = try #require(try FileManager.default.attributesOfItem(atPath: s.file)[.size] as? Int)
    // Headers, bitmaps, descriptors and page data: a spread of cuts over the whole file.
    var cuts = [1, 7, 8, 100, 463, 464, 4095, 4096, 4200, 8191, 8192, 12288, 20000, 65536]
    cuts += stride(from: 1, to: 20, by: 1).map { size / 20 * $0 }
    cuts.append(size - 1)
    for cut in cuts where cut < size {
      try expectMalformed(try prefix(of: s.file, length: cut), vmlinux: s.vmlinux, at: cut)
    }
  }

  @Test(arguments: ["6.12-qemu-elf", "6.1-kdump-elf"])
  func elfDumpsCutInHeadersNotesAndData(name: String) throws {
    let s = try Samples.named(name).require()
    let size = try #require(try FileManager.default.attributesOfItem(atPath: s.file)[.size] as? Int)
    var cuts = [1, 16, 63, 64, 100, 300, 1000, 2000, 4096, 8192]
    // QEMU writes a few bytes after the last segment; cut inside segment data.
    cuts += [size / 7, size / 3, size - 4096]
    for cut in cuts where cut < size {
      try expectMalformed(try prefix(of: s.file, length: cut), vmlinux: s.vmlinux, at: cut)
    }
  }
}
