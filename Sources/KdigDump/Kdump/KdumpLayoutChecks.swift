// Cross-checks of a compressed kdump's layout at open. Each header field alone can look
// sane while the layout it implies is wrong: a sub_hdr_size one block too large moves the
// bitmaps and the descriptor table, and every page then reads as "excluded by makedumpfile".
// makedumpfile (write_kdump_header) and QEMU (create_header64) derive the fields from each
// other, so they must agree:
// - sub_hdr_size = DIV_ROUND_UP(sizeof(kdump_sub_header) + notes, block_size), with the
//   note blob and the VMCOREINFO text inside those blocks;
// - max_mapnr = MIN(max_mapnr_64, UINT_MAX) from header version 6;
// - bitmap_blocks = 1 or 2 x DIV_ROUND_UP(DIV_ROUND_UP(max_mapnr, 8), block_size);
// - bitmap 2 (dumped) is bitmap 1 (RAM) with bits cleared, never set;
// - page data starts after the descriptor table: page_desc[0] points at or after its end.
// Legacy "DISKDUMP" files have none of these rules and are only bounds-checked.

import KdigBinary

extension KdumpLayout {
  /// The sub-header area [block_size, (1 + sub_hdr_size) * block_size) must hold the sub
  /// header, the note blob and the VMCOREINFO text, and end in its last block.
  static func checkSubHeaderArea(header h: DiskDumpHeader, sub: KdumpSubHeader, file: String) throws(BinaryError) {
    guard h.kind == .kdump, h.version >= 1 else { return }
    let bs = UInt64(h.blockSize)
    let structEnd = bs + UInt64(KdumpSubHeader.sizeByVersion[min(h.version, 6)])
    // No overflow: sub_hdr_size < 2^31 and block_size = 4096.
    let areaEnd = (1 + h.subHeaderBlocks) * bs
    var used = structEnd
    func inside(_ offset: UInt64, _ size: UInt64, field: UInt64, _ what: String) throws(BinaryError) {
      guard offset != 0, size != 0 else { return }
      guard offset >= structEnd, let end = offset.adding(size), end <= areaEnd else {
        throw BinaryError(
          file: file, offset: field,
          expected: "\(what) inside the sub-header blocks [0x\(hex(structEnd)), 0x\(hex(areaEnd))) "
            + "(sub_hdr_size \(h.subHeaderBlocks))",
          found: "offset 0x\(hex(offset)), size 0x\(hex(size))")
      }
      used = max(used, end)
    }
    if h.version >= 4 { try inside(sub.noteOffset, sub.noteSize, field: bs + 48, "the ELF note blob (offset_note, size_note)") }
    if h.version >= 3 {
      try inside(sub.vmcoreinfoOffset, sub.vmcoreinfoSize, field: bs + 32, "the VMCOREINFO text (offset_vmcoreinfo, size_vmcoreinfo)")
    }
    let expected = (used + bs - 1) / bs - 1
    guard h.subHeaderBlocks == expected else {
      throw BinaryError(
        file: file, offset: 432,
        expected: "sub_hdr_size \(expected) (the sub header and its notes end at 0x\(hex(used)), "
          + "in block \(expected))",
        found: "\(h.subHeaderBlocks)")
    }
  }

  /// max_mapnr (32 bits) and max_mapnr_64 agree, and bitmap_blocks is exactly what
  /// max_mapnr needs for one or two bitmaps.
  static func checkBitmapGeometry(header h: DiskDumpHeader, sub: KdumpSubHeader, maxPFN: UInt64, file: String)
    throws(BinaryError)
  {
    guard h.kind == .kdump else { return }
    if h.version >= 6 {
      let truncated = min(sub.maxMapnr64, UInt64(UInt32.max))
      guard h.maxMapnr32 == truncated else {
        throw BinaryError(
          file: file, offset: 440,
          expected: "max_mapnr 0x\(hex(truncated)) (max_mapnr_64 0x\(hex(sub.maxMapnr64)) truncated to 32 bits)",
          found: "0x\(hex(h.maxMapnr32))")
      }
    }
    let bs = UInt64(h.blockSize)
    let perBitmap = ((maxPFN + 7) / 8 + bs - 1) / bs  // maxPFN <= 2^40: no overflow
    guard h.bitmapBlocks == perBitmap || h.bitmapBlocks == 2 * perBitmap else {
      throw BinaryError(
        file: file, offset: 436,
        expected: "bitmap_blocks \(2 * perBitmap) (two bitmaps of \(perBitmap) blocks for max_mapnr 0x\(hex(maxPFN)))",
        found: "\(h.bitmapBlocks)")
    }
  }
}

extension KdumpDump {
  /// Every pfn dumped (bitmap 2) is RAM (bitmap 1): a dumped bit over a hole means the
  /// bitmaps are not where the header says. One pass, a word at a time.
  func checkBitmapsAgree() throws(BinaryError) {
    guard header.kind == .kdump, layout.twoBitmaps else { return }
    let words = (layout.bitmapBytes + 7) / 8
    var i: UInt64 = 0
    while i < words {
      let stray = descriptors.bitmap.word(i) & ~ramBitmap.word(i)
      if stray != 0 {
        let pfn = i * 64 + UInt64(stray.trailingZeroBitCount)
        throw BinaryError(
          file: source.name, offset: layout.dumpableBitmapOffset + pfn / 8,
          expected: "bitmap 2 (dumped pages) a subset of bitmap 1 (RAM pages) at 0x\(hex(layout.ramBitmapOffset))",
          found: "pfn 0x\(hex(pfn)) dumped but not RAM")
      }
      i += 1
    }
  }

  /// page_desc[0] points at page data after the descriptor table and inside the file (the
  /// writers put the data, starting with the shared zero page, right after the table).
  func checkFirstDescriptor() throws(BinaryError) {
    guard header.kind == .kdump, !incomplete, descriptors.total > 0 else { return }
    let file = source.name
    let math = CheckedArithmetic(file: file, offset: layout.descriptorOffset)
    let tableEnd = try math.add(
      layout.descriptorOffset, try math.multiply(descriptors.total, PageDescriptor.size, "descriptor table size"),
      "descriptor table end")
    let pd = try PageDescriptor(parsing: try source.view(at: layout.descriptorOffset, count: 24, "page_desc[0]"))
    let end = pd.offset > 0 ? UInt64(pd.offset).adding(UInt64(pd.size)) : nil
    guard pd.offset > 0, UInt64(pd.offset) >= tableEnd, pd.size > 0, pd.size <= UInt32(pageSize),
      let end, end <= source.size
    else {
      throw BinaryError(
        file: file, offset: layout.descriptorOffset,
        expected: "page_desc[0] pointing at 1 to \(pageSize) bytes of page data after the descriptor table "
          + "(\(descriptors.total) entries, one per set bit of bitmap 2, ending at 0x\(hex(tableEnd))) "
          + "and before the end of the file (0x\(hex(source.size)))",
        found: "offset \(pd.offset), size \(pd.size)")
    }
  }
}
