// zlib pages: makedumpfile writes them with compress2(..., Z_BEST_SPEED) (makedumpfile.c
// write_kdump_pages_cyclic) and crash reads them with uncompress() into one page.
// uncompress2 stops at the end of the bounded output: Z_BUF_ERROR means "more data than
// fits", so an over-long stream can never overflow the page.

import CZlib

func zlibDecompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
  throws(CodecError)
{
  guard let src = input.baseAddress, let dst = output.baseAddress else {
    throw CodecError(codec: .zlib, reason: "empty buffer")
  }
  var produced = uLongf(output.count)
  var consumed = uLong(input.count)
  let status = uncompress2(
    dst.assumingMemoryBound(to: Bytef.self), &produced,
    src.assumingMemoryBound(to: Bytef.self), &consumed)
  switch status {
  case Z_OK:
    guard Int(produced) == output.count else {
      throw CodecError(codec: .zlib, reason: sizeMismatch(Int(produced), output.count))
    }
  case Z_BUF_ERROR:
    // uncompress2 returns Z_BUF_ERROR only when the page is full and the stream has not
    // ended (a stream cut short with room left is Z_DATA_ERROR).
    throw CodecError(
      codec: .zlib,
      reason: "stream does not end within \(output.count) bytes: it inflates past the page "
        + "or is cut just before its end (Z_BUF_ERROR)")
  case Z_DATA_ERROR:
    throw CodecError(codec: .zlib, reason: "corrupt or truncated stream (Z_DATA_ERROR)")
  case Z_MEM_ERROR:
    throw CodecError(codec: .zlib, reason: "out of memory (Z_MEM_ERROR)")
  default:
    throw CodecError(codec: .zlib, reason: "uncompress2 returned \(status)")
  }
}

func zlibCompress(_ input: [UInt8]) throws(CodecError) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(input.count))))
  var length = uLongf(out.count)
  let status = input.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { dst in
      compress2(dst.baseAddress, &length, src.baseAddress, uLong(src.count), Z_BEST_SPEED)
    }
  }
  guard status == Z_OK else {
    throw CodecError(codec: .zlib, reason: "compress2 returned \(status)")
  }
  return Array(out.prefix(Int(length)))
}
