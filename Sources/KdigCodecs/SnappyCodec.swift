// Snappy pages (makedumpfile -p; QEMU kdump-snappy): a raw snappy block whose preamble
// states the decoded length. Check that length first, then decode into the bounded page.

import CSnappy

func snappyDecompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
  throws(CodecError)
{
  guard let src = input.baseAddress, let dst = output.baseAddress else {
    throw CodecError(codec: .snappy, reason: "empty buffer")
  }
  let compressed = src.assumingMemoryBound(to: CChar.self)
  var declared = 0
  guard snappy_uncompressed_length(compressed, input.count, &declared) == SNAPPY_OK else {
    throw CodecError(codec: .snappy, reason: "unreadable length preamble (SNAPPY_INVALID_INPUT)")
  }
  guard declared == output.count else {
    throw CodecError(
      codec: .snappy, reason: "block declares \(declared) decoded bytes, expected exactly \(output.count)")
  }
  var produced = output.count
  let status = snappy_uncompress(
    compressed, input.count, dst.assumingMemoryBound(to: CChar.self), &produced)
  guard status == SNAPPY_OK else {
    let why = status == SNAPPY_BUFFER_TOO_SMALL ? "SNAPPY_BUFFER_TOO_SMALL" : "SNAPPY_INVALID_INPUT"
    throw CodecError(codec: .snappy, reason: "corrupt block (\(why))")
  }
  guard produced == output.count else {
    throw CodecError(codec: .snappy, reason: sizeMismatch(produced, output.count))
  }
}

func snappyCompress(_ input: [UInt8]) throws(CodecError) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: snappy_max_compressed_length(input.count))
  var length = out.count
  let status = input.withUnsafeBytes { src in
    out.withUnsafeMutableBytes { dst in
      snappy_compress(
        src.baseAddress?.assumingMemoryBound(to: CChar.self), src.count,
        dst.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
    }
  }
  guard status == SNAPPY_OK else {
    throw CodecError(codec: .snappy, reason: "snappy_compress failed (\(status.rawValue))")
  }
  return Array(out.prefix(length))
}
