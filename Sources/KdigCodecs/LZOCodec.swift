// LZO1X-1 pages (makedumpfile -l; QEMU kdump-lzo). Decoded with lzo1x_decompress_safe,
// which checks both input and output bounds; trailing input is an error, as in crash and
// libkdumpfile (they require LZO_E_OK and a full page).

import CLZO

/// lzo_init() must succeed once before any other LZO call; a lazy global runs it once.
private let lzoInitStatus: Int32 = kdig_lzo_init()

/// LZO1X_1_MEM_COMPRESS = 16384 * lzo_sizeof_dict_t (sizeof(lzo_bytep)), lzo1x.h:71.
private let lzoWorkMemory = 16384 * MemoryLayout<UnsafeRawPointer>.size

private func lzoStatusText(_ status: Int32) -> String {
  switch status {
  case -4: "input overrun (LZO_E_INPUT_OVERRUN)"
  case -5: "output overrun (LZO_E_OUTPUT_OVERRUN): the block decodes past the page"
  case -6: "lookbehind overrun (LZO_E_LOOKBEHIND_OVERRUN)"
  case -7: "end of stream not found (LZO_E_EOF_NOT_FOUND)"
  case -8: "input not consumed (LZO_E_INPUT_NOT_CONSUMED): bytes after the block"
  default: "lzo1x_decompress_safe returned \(status)"
  }
}

func lzoDecompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer)
  throws(CodecError)
{
  guard lzoInitStatus == LZO_E_OK else {
    throw CodecError(codec: .lzo, reason: "lzo_init failed (\(lzoInitStatus))")
  }
  guard let src = input.baseAddress, let dst = output.baseAddress else {
    throw CodecError(codec: .lzo, reason: "empty buffer")
  }
  var produced = lzo_uint(output.count)
  let status = lzo1x_decompress_safe(
    src.assumingMemoryBound(to: UInt8.self), lzo_uint(input.count),
    dst.assumingMemoryBound(to: UInt8.self), &produced, nil)
  guard status == LZO_E_OK else {
    throw CodecError(codec: .lzo, reason: lzoStatusText(status))
  }
  guard Int(produced) == output.count else {
    throw CodecError(codec: .lzo, reason: sizeMismatch(Int(produced), output.count))
  }
}

func lzoCompress(_ input: [UInt8]) throws(CodecError) -> [UInt8] {
  guard lzoInitStatus == LZO_E_OK else {
    throw CodecError(codec: .lzo, reason: "lzo_init failed (\(lzoInitStatus))")
  }
  // Worst case from the LZO FAQ: n + n/16 + 64 + 3.
  var out = [UInt8](repeating: 0, count: input.count + input.count / 16 + 67)
  var work = [UInt8](repeating: 0, count: lzoWorkMemory)
  var length = lzo_uint(out.count)
  let status = input.withUnsafeBufferPointer { src in
    out.withUnsafeMutableBufferPointer { dst in
      work.withUnsafeMutableBytes { mem in
        lzo1x_1_compress(src.baseAddress, lzo_uint(src.count), dst.baseAddress, &length, mem.baseAddress)
      }
    }
  }
  guard status == LZO_E_OK else {
    throw CodecError(codec: .lzo, reason: "lzo1x_1_compress returned \(status)")
  }
  return Array(out.prefix(Int(length)))
}
