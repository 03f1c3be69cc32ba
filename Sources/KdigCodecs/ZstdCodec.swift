// zstd pages (makedumpfile -z; ZSTD_compressCCtx level 1). A frame that states its content
// size must state exactly one page; ZSTD_decompress is bounded by the page either way.

import CZstd

/// ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR (zstd.h:190-191), which Swift does
/// not import because they are expressions.
private let contentSizeUnknown = UInt64.max
private let contentSizeError = UInt64.max - 1

func zstdDecompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
  throws(CodecError)
{
  guard let src = input.baseAddress, let dst = output.baseAddress else {
    throw CodecError(codec: .zstd, reason: "empty buffer")
  }
  let declared = UInt64(ZSTD_getFrameContentSize(src, input.count))
  if declared == contentSizeError {
    throw CodecError(codec: .zstd, reason: "not a zstd frame (bad magic or too short)")
  }
  if declared != contentSizeUnknown && declared != UInt64(output.count) {
    throw CodecError(
      codec: .zstd, reason: "frame declares \(declared) decoded bytes, expected exactly \(output.count)")
  }
  let produced = ZSTD_decompress(dst, output.count, src, input.count)
  if ZSTD_isError(produced) != 0 {
    let name = ZSTD_getErrorName(produced).map { String(cString: $0) } ?? "error \(produced)"
    throw CodecError(codec: .zstd, reason: "corrupt frame (\(name))")
  }
  guard produced == output.count else {
    throw CodecError(codec: .zstd, reason: sizeMismatch(produced, output.count))
  }
}

func zstdCompress(_ input: [UInt8]) throws(CodecError) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
  let length = input.withUnsafeBytes { src in
    out.withUnsafeMutableBytes { dst in
      ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, 1)
    }
  }
  guard ZSTD_isError(length) == 0 else {
    throw CodecError(codec: .zstd, reason: "ZSTD_compress failed")
  }
  return Array(out.prefix(length))
}
