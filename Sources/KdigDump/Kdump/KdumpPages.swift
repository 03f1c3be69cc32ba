// Page reads of a compressed kdump (dump-formats.md §1.6): pfn → bitmaps → descriptor →
// stored bytes → exactly one decoded page, cached. Every failure is a MemoryError naming
// the physical address and, for damaged data, the descriptor and data offsets.

import KdigBinary
import KdigCodecs
import KdigMemory

extension KdumpDump {
  /// Descriptors the open-time truncation check reads back from the end (1.5 MiB).
  static let truncationScanLimit: UInt64 = 65536

  /// Copies physical memory at `address` into `buffer`, page by page through the cache.
  public func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    let size = UInt64(pageSize)
    var done = 0
    while done < buffer.count {
      let (a, overflow) = address.addingReportingOverflow(UInt64(done))
      guard !overflow else {
        throw MemoryError(address: address, reason: .beyondEnd(maxPFN: layout.maxPFN), source: path)
      }
      let page = try page(a / size, address: a)
      let inPage = Int(a % size)
      let n = min(buffer.count - done, pageSize - inPage)
      withExtendedLifetime(page) {
        if let dst = buffer.baseAddress, let src = page.buffer.baseAddress {
          (dst + done).copyMemory(from: src + inPage, byteCount: n)
        }
      }
      done += n
    }
  }

  /// The decoded page `pfn`; `address` (inside it) is what errors report.
  func page(_ pfn: UInt64, address: UInt64) throws(MemoryError) -> ByteBox {
    if let cached = cache.lookup(pfn) { return cached }
    let fail = { (reason: MemoryError.Reason) in
      MemoryError(address: address, reason: reason, source: self.path)
    }
    guard pfn < layout.maxPFN else { throw fail(.beyondEnd(maxPFN: layout.maxPFN)) }
    // Single-bitmap files have no RAM bitmap: a clear bit there means "not dumped".
    if layout.twoBitmaps && !ramBitmap.contains(pfn) { throw fail(.hole) }
    // Split parts carry the whole bitmap 2 but only their own descriptors.
    if let split = layout.split, !split.contains(pfn) { throw fail(.notCovered) }
    guard descriptors.bitmap.contains(pfn), let index = descriptors.index(of: pfn) else {
      throw fail(.excluded)
    }
    let box = try decode(pfn, descriptor: index, fail)
    cache.store(pfn, box)
    return box
  }

  /// Reads descriptor `index` (of `pfn`) and decodes its data into a new page.
  private func decode(
    _ pfn: UInt64, descriptor index: UInt64, _ fail: (MemoryError.Reason) -> MemoryError
  ) throws(MemoryError) -> ByteBox {
    let word = source is FlattenedFile ? "logical offset" : "offset"
    // index < 2^40 and the table starts inside the file: no overflow in practice.
    let descAt = layout.descriptorOffset.adding(index * PageDescriptor.size)
    let what = "page descriptor of pfn 0x\(hex(pfn)) at \(word) 0x\(hex(descAt ?? 0))"
    guard let descAt, let view = try? source.view(at: descAt, count: 24, "page descriptor"),
      let pd = try? PageDescriptor(parsing: view)
    else {
      // Descriptors past the end of an incomplete dump were never written.
      if incomplete { throw fail(.incomplete) }
      throw fail(.corrupt("\(what): beyond the end of the file (0x\(hex(source.size)))"))
    }
    if pd.offset == 0 { throw fail(.incomplete) }
    let blockSize = UInt32(pageSize)
    guard pd.offset > 0 else {
      throw fail(.corrupt("\(what): data offset \(pd.offset), expected a positive file offset"))
    }
    let dataAt = UInt64(pd.offset)
    guard pd.size > 0, pd.size <= blockSize else {
      throw fail(
        .corrupt(
          "\(what): data at \(word) 0x\(hex(dataAt)) has size \(pd.size), "
            + "expected 1 to \(blockSize) bytes"))
    }
    let dataWhat = "page data of pfn 0x\(hex(pfn)) (\(pd.size) bytes at \(word) 0x\(hex(dataAt)), "
      + "descriptor at \(word) 0x\(hex(descAt)))"
    let codec: PageCompression?
    if pd.flags == 0 {
      codec = nil
      guard pd.size == blockSize else {
        throw fail(.corrupt("\(dataWhat): raw page (flags 0) of \(pd.size) bytes, expected \(blockSize)"))
      }
    } else if let known = PageCompression.allCases.first(where: { $0.flag == pd.flags }) {
      codec = known
    } else {
      throw fail(
        .corrupt(
          "\(dataWhat): flags 0x\(hex(UInt64(pd.flags))), expected 0 or one codec bit (1, 2, 4, 0x20)"))
    }
    guard let data = try? source.view(at: dataAt, count: Int(pd.size), "page data") else {
      if incomplete { throw fail(.incomplete) }
      throw fail(.corrupt("\(dataWhat): beyond the end of the file (0x\(hex(source.size)))"))
    }
    let box = ByteBox(zeroedCount: pageSize)
    // `data` may own a copy (flattened sources): keep it alive while its bytes are read.
    let failure: CodecError? = withExtendedLifetime(data) {
      guard let codec else {
        if let dst = box.mutableBuffer.baseAddress, let src = data.bytes.baseAddress {
          dst.copyMemory(from: src, byteCount: pageSize)
        }
        return nil
      }
      do throws(CodecError) {
        try decompressPage(data.bytes, codec: codec, into: box.mutableBuffer)
        return nil
      } catch {
        return error
      }
    }
    if let failure { throw fail(.corrupt("\(dataWhat): \(failure)")) }
    return box
  }

  /// Open-time truncation check: the descriptor table must lie inside the file, and so
  /// must the data of the last page written. Pages are written in pfn order, so that is
  /// the last descriptor that does not point at the shared zero page (which makedumpfile
  /// and QEMU write first, right after the table); the scan back is bounded.
  func checkNotTruncated() throws(BinaryError) {
    let file = source.name
    let math = CheckedArithmetic(file: file, offset: layout.descriptorOffset)
    let count = descriptors.total
    let tableBytes = try math.multiply(count, PageDescriptor.size, "page descriptor table size")
    let tableEnd = try math.add(layout.descriptorOffset, tableBytes, "page descriptor table end")
    guard tableEnd <= source.size else {
      throw BinaryError(
        file: file, offset: layout.descriptorOffset,
        expected: "a page descriptor table of \(count) entries (0x\(hex(tableBytes)) bytes, one per "
          + "set bit of the dumped-pages bitmap)",
        found: "file ends at 0x\(hex(source.size))")
    }
    let scanned = min(count, Self.truncationScanLimit)
    guard scanned > 0 else { return }
    let tail = try source.view(
      at: tableEnd - scanned * PageDescriptor.size, count: Int(scanned * PageDescriptor.size),
      "the last page descriptors")
    var pfn = descriptors.bitmap.last(in: descriptors.range)
    for i in (0..<Int(scanned)).reversed() {
      let pd = try PageDescriptor(parsing: try tail.slice(i * 24, 24, "page descriptor"))
      // Zero offsets are "incomplete", other damage is reported when the page is read.
      if pd.offset > 0, pd.size > 0, pd.size <= UInt32(pageSize), UInt64(pd.offset) != tableEnd {
        let start = UInt64(pd.offset)
        guard let end = start.adding(UInt64(pd.size)), end <= source.size else {
          let which = pfn.map { "pfn 0x\(hex($0))" } ?? "a page"
          throw BinaryError(
            file: file, offset: start,
            expected: "page data of \(which) (\(pd.size) bytes, the last page written; "
              + "descriptor at offset 0x\(hex(tail.location(i * 24))))",
            found: "file ends at 0x\(hex(source.size))")
        }
        return
      }
      // The pfn of the descriptor before this one: the previous set bit.
      if let p = pfn { pfn = descriptors.bitmap.last(in: descriptors.range.lowerBound..<p) }
    }
  }
}
