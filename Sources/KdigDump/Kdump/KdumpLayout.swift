// Where the bitmaps and the page-descriptor table of a compressed kdump are, validated
// against the file as libkdumpfile's try_header and crash's read_dump_header do
// (dump-formats.md §1.1, §1.4, §1.9): every offset is computed with overflow checks and
// every area must end inside the file.

import KdigBinary

/// The validated geometry of a kdump file.
struct KdumpLayout {
  /// x86-64 physical addresses have at most 52 bits (MAXPHYADDR), so pfns stay below 2^40.
  static let maxPFNLimit: UInt64 = 1 << 40

  let blockSize: UInt64
  /// Page frames the dumped machine has: max_mapnr (max_mapnr_64 from header version 6).
  let maxPFN: UInt64
  /// True when the bitmap area holds two bitmaps (RAM, then dumped); crash dump_is_partial.
  let twoBitmaps: Bool
  /// File offset and size of bitmap 1 (or of the only bitmap).
  let ramBitmapOffset: UInt64
  let bitmapBytes: UInt64
  /// File offset of the dumped-pages bitmap (bitmap 2, or the only bitmap).
  let dumpableBitmapOffset: UInt64
  /// File offset of page_desc[0]: (1 + sub_hdr_size + bitmap_blocks) * block_size.
  let descriptorOffset: UInt64
  /// For one part of a split dump: the pfns it holds.
  let split: Range<UInt64>?

  /// First and one-past-last pfn whose pages this file can hold.
  var firstPFN: UInt64 { split?.lowerBound ?? 0 }
  var endPFN: UInt64 { split?.upperBound ?? maxPFN }

  init(header h: DiskDumpHeader, sub: KdumpSubHeader, source: ByteSource) throws(BinaryError) {
    let file = source.name
    blockSize = UInt64(h.blockSize)
    let max = h.kind == .kdump && h.version >= 6 ? sub.maxMapnr64 : h.maxMapnr32
    let maxField: UInt64 = h.kind == .kdump && h.version >= 6 ? blockSize + 96 : 440
    guard max <= Self.maxPFNLimit else {
      throw BinaryError(
        file: file, offset: maxField, expected: "max_mapnr below 2^40 (52-bit physical addresses)",
        found: "0x\(hex(max))")
    }
    maxPFN = max

    let math = CheckedArithmetic(file: file, offset: 432)
    let bitmapArea = try math.multiply(
      try math.add(1, h.subHeaderBlocks, "1 + sub_hdr_size"), blockSize, "bitmap offset")
    let areaBytes = try math.multiply(h.bitmapBlocks, blockSize, "bitmap_blocks * block_size")
    descriptorOffset = try math.add(bitmapArea, areaBytes, "page descriptor table offset")
    guard descriptorOffset <= source.size else {
      throw BinaryError(
        file: file, offset: bitmapArea,
        expected: "bitmaps of 0x\(hex(areaBytes)) bytes (bitmap_blocks \(h.bitmapBlocks) "
          + "x block_size \(blockSize))",
        found: "file ends at 0x\(hex(source.size))")
    }

    // Blocks one bitmap needs for max_mapnr bits (no overflow: max <= 2^40).
    let blocksPerBitmap = ((max + 7) / 8 + blockSize - 1) / blockSize
    twoBitmaps = h.bitmapBlocks >= 2 * blocksPerBitmap
    bitmapBytes = twoBitmaps ? areaBytes / 2 : areaBytes
    guard bitmapBytes * 8 >= max else {  // bitmapBytes < 2^48: no overflow
      throw BinaryError(
        file: file, offset: 436,
        expected: "bitmap_blocks large enough for max_mapnr 0x\(hex(max)) "
          + "(\(blocksPerBitmap) blocks per bitmap)",
        found: "\(h.bitmapBlocks) blocks holding 0x\(hex(areaBytes * 8)) bits")
    }
    try Self.checkBitmapGeometry(header: h, sub: sub, maxPFN: max, file: file)
    ramBitmapOffset = bitmapArea
    dumpableBitmapOffset = twoBitmaps ? bitmapArea + bitmapBytes : bitmapArea

    if h.kind == .kdump && h.version >= 2 && sub.split {
      // makedumpfile --split: this part holds [start_pfn_64, end_pfn_64) (§1.9).
      guard sub.startPFN <= sub.endPFN, sub.endPFN <= max else {
        throw BinaryError(
          file: file, offset: sub.splitRangeOffset,
          expected: "a split range with start <= end <= max_mapnr 0x\(hex(max))",
          found: "0x\(hex(sub.startPFN))..<0x\(hex(sub.endPFN))")
      }
      split = sub.startPFN..<sub.endPFN
    } else {
      split = nil
    }
    try Self.checkSubHeaderArea(header: h, sub: sub, file: file)
  }
}
