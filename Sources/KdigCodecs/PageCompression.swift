// The page codecs of makedumpfile's compressed kdump format (dump-formats.md §1.8):
// one entry point that decodes a page into a caller-owned buffer of exactly one page, and
// one that encodes (for test builders). This target is the only importer of the C codecs.

import KdigBinary

/// A codec makedumpfile or QEMU may use for one page (`page_desc.flags`).
public enum PageCompression: String, Sendable, CaseIterable {
  /// zlib stream (RFC 1950), `DUMP_DH_COMPRESSED_ZLIB` (0x01).
  case zlib
  /// LZO1X-1 block, `DUMP_DH_COMPRESSED_LZO` (0x02).
  case lzo
  /// Raw snappy block (not framed), `DUMP_DH_COMPRESSED_SNAPPY` (0x04).
  case snappy
  /// zstd frame, `DUMP_DH_COMPRESSED_ZSTD` (0x20).
  case zstd

  /// The `page_desc.flags` / header `status` bit of this codec (diskdump_mod.h:94-101).
  public var flag: UInt32 {
    switch self {
    case .zlib: 0x01
    case .lzo: 0x02
    case .snappy: 0x04
    case .zstd: 0x20
    }
  }
}

/// A page that does not decode to exactly the expected number of bytes.
public struct CodecError: KdigError, Equatable {
  /// The codec that failed.
  public var codec: PageCompression
  /// Why, in words (library status, or the sizes that disagree).
  public var reason: String

  /// An error of `codec` for `reason`.
  public init(codec: PageCompression, reason: String) {
    self.codec = codec
    self.reason = reason
  }

  /// Always `.malformedInput`: the stored page is damaged.
  public var category: ErrorCategory { .malformedInput }
  /// "<codec> decompression failed: <reason>".
  public var description: String { "\(codec.rawValue) decompression failed: \(reason)" }
}

/// Decodes `input` with `codec` into `output`, which it fills completely: a stream that
/// decodes to fewer or more than `output.count` bytes is an error and never writes past
/// `output`.
public func decompressPage(
  _ input: UnsafeRawBufferPointer, codec: PageCompression,
  into output: UnsafeMutableRawBufferPointer
) throws(CodecError) {
  guard let src = input.baseAddress, input.count > 0 else {
    throw CodecError(codec: codec, reason: "no compressed bytes")
  }
  guard let dst = output.baseAddress, output.count > 0 else {
    throw CodecError(codec: codec, reason: "no room for the decompressed page")
  }
  let source = UnsafeRawBufferPointer(start: src, count: input.count)
  let target = UnsafeMutableRawBufferPointer(start: dst, count: output.count)
  switch codec {
  case .zlib: try zlibDecompress(source, into: target)
  case .lzo: try lzoDecompress(source, into: target)
  case .snappy: try snappyDecompress(source, into: target)
  case .zstd: try zstdDecompress(source, into: target)
  }
}

/// Encodes `input` with `codec` as makedumpfile does (zlib `compress2` level 1 like
/// `-c`, LZO1X-1, snappy, zstd level 1). For building test dumps.
public func compressPage(_ input: [UInt8], codec: PageCompression) throws -> [UInt8] {
  switch codec {
  case .zlib: try zlibCompress(input)
  case .lzo: try lzoCompress(input)
  case .snappy: try snappyCompress(input)
  case .zstd: try zstdCompress(input)
  }
}

/// The message for a stream that decoded to the wrong size.
func sizeMismatch(_ produced: Int, _ expected: Int) -> String {
  "stream decodes to \(produced) bytes, expected exactly \(expected)"
}
