// Page codecs: every codec round-trips, and every way a stored page can be wrong (short,
// long, garbage, cut, empty) is a CodecError naming the codec, never an overflow.

import KdigBinary
import KdigCodecs
import KdigTestSupport
import Testing

/// Decodes `packed` into `count` bytes.
private func decode(_ packed: [UInt8], _ codec: PageCompression, count: Int = 4096) throws(CodecError)
  -> [UInt8]
{
  var out = [UInt8](repeating: 0xAA, count: count)
  var failure: CodecError?
  out.withUnsafeMutableBytes { o in
    packed.withUnsafeBytes { i in
      do throws(CodecError) { try decompressPage(i, codec: codec, into: o) } catch { failure = error }
    }
  }
  if let failure { throw failure }
  return out
}

@Suite struct CodecTests {
  static let pages: [[UInt8]] = [
    [UInt8](repeating: 0, count: 4096), KdumpBuilder.samplePage(7), KdumpBuilder.samplePage(1 << 33),
    KdumpBuilder.randomPage(seed: 42),
  ]

  @Test(arguments: PageCompression.allCases)
  func roundTripsEveryPage(codec: PageCompression) throws {
    for page in Self.pages {
      let packed = try compressPage(page, codec: codec)
      #expect(try decode(packed, codec) == page)
    }
  }

  @Test(arguments: PageCompression.allCases)
  func compressibleDataShrinks(codec: PageCompression) throws {
    let packed = try compressPage(KdumpBuilder.samplePage(3), codec: codec)
    #expect(packed.count < 2048)
    #expect(packed != KdumpBuilder.samplePage(3))
  }

  @Test(arguments: PageCompression.allCases)
  func streamShorterThanAPageIsAnError(codec: PageCompression) throws {
    let packed = try compressPage(Array(KdumpBuilder.samplePage(5).prefix(2048)), codec: codec)
    let error = try #require(throws: CodecError.self) { try decode(packed, codec) }
    #expect(error.codec == codec)
    #expect(error.category == .malformedInput)
    #expect(error.description.contains(codec.rawValue))
  }

  @Test(arguments: PageCompression.allCases)
  func streamLongerThanAPageNeverWritesPastIt(codec: PageCompression) throws {
    let long = KdumpBuilder.samplePage(1) + KdumpBuilder.samplePage(2)
    let packed = try compressPage(long, codec: codec)
    var buffer = [UInt8](repeating: 0xC3, count: 4096 + 512)
    var failure: CodecError?
    buffer.withUnsafeMutableBytes { all in
      let page = UnsafeMutableRawBufferPointer(rebasing: all[0..<4096])
      packed.withUnsafeBytes { i in
        do throws(CodecError) { try decompressPage(i, codec: codec, into: page) } catch { failure = error }
      }
    }
    let error = try #require(failure)
    #expect(error.codec == codec)
    #expect(buffer[4096...].allSatisfy { $0 == 0xC3 }, "bytes after the page were written")
  }

  @Test(arguments: PageCompression.allCases)
  func garbageIsAnError(codec: PageCompression) {
    var rng = KdumpBuilder.SeededRandom(seed: 7)
    for length in [1, 3, 17, 300, 4096] {
      let garbage = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      #expect(throws: CodecError.self, "\(codec) accepted \(length) garbage bytes") {
        try decode(garbage, codec)
      }
    }
  }

  @Test(arguments: PageCompression.allCases)
  func cutStreamIsAnError(codec: PageCompression) throws {
    let packed = try compressPage(KdumpBuilder.samplePage(9), codec: codec)
    for keep in [1, packed.count / 2, packed.count - 1] {
      #expect(throws: CodecError.self, "\(codec) accepted a stream cut to \(keep) bytes") {
        try decode(Array(packed.prefix(keep)), codec)
      }
    }
  }

  @Test(arguments: PageCompression.allCases)
  func emptyInputIsAnError(codec: PageCompression) {
    #expect(throws: CodecError.self) { try decode([], codec) }
  }

  @Test func flagsMatchDiskdumpMod() {
    #expect(PageCompression.zlib.flag == 0x01)
    #expect(PageCompression.lzo.flag == 0x02)
    #expect(PageCompression.snappy.flag == 0x04)
    #expect(PageCompression.zstd.flag == 0x20)
  }
}
