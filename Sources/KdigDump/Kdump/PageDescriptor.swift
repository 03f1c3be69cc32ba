// struct page_desc (makedumpfile diskdump_mod.h:104-109; dump-formats.md §1.5) and the
// pfn → descriptor index: descriptor n belongs to the n-th set bit of the dumped-pages
// bitmap, counted from the split start (§1.6). Counts per 4096-pfn section are summed
// once, as crash's valid_pages table is, so a lookup pops at most 64 words.

import KdigBinary

/// One 24-byte page descriptor.
struct PageDescriptor {
  static let size: UInt64 = 24

  /// offset @0: absolute file offset of the page data; 0 = never written (incomplete).
  var offset: Int64
  /// size @8: stored bytes (compressed size, or block_size when raw).
  var size: UInt32
  /// flags @12: codec bit, or 0 for a raw page.
  var flags: UInt32

  init(parsing v: ByteView) throws(BinaryError) {
    offset = try v.i64(0, "page_desc.offset")
    size = try v.u32(8, "page_desc.size")
    flags = try v.u32(12, "page_desc.flags")
  }
}

/// Maps a dumped pfn to the index of its descriptor.
struct DescriptorIndex {
  /// crash BITMAP_SECT_LEN (diskdump.c:33): pfns per prefix-sum entry.
  static let sectionPFNs: UInt64 = 4096

  let bitmap: PageBitmap
  let range: Range<UInt64>
  /// Section number of `before[0]`.
  private let firstSection: UInt64
  /// before[i]: set bits in [range.lowerBound, start of section firstSection + i).
  private let before: [UInt64]
  /// Set bits in `range`: the number of descriptors the file has.
  let total: UInt64

  /// Counts the set bits of `bitmap` over `range` in one pass.
  init(bitmap: PageBitmap, range: Range<UInt64>) {
    self.bitmap = bitmap
    self.range = range
    let s = Self.sectionPFNs
    firstSection = range.lowerBound / s
    var sums: [UInt64] = []
    var running: UInt64 = 0
    var section = firstSection
    while section * s < range.upperBound {
      sums.append(running)
      let lo = max(range.lowerBound, section * s)
      let hi = min(range.upperBound, (section + 1) * s)
      running += bitmap.count(in: lo..<hi)
      section += 1
    }
    before = sums
    total = running
  }

  /// Index of the descriptor of `pfn`; `pfn` must be in `range` with its bit set.
  func index(of pfn: UInt64) -> UInt64? {
    guard range.contains(pfn) else { return nil }
    let section = pfn / Self.sectionPFNs
    let i = Int(section - firstSection)  // pfn in range: 0 <= i < before.count
    guard i >= 0, i < before.count else { return nil }
    let sectionStart = max(range.lowerBound, section * Self.sectionPFNs)
    return before[i] + bitmap.count(in: sectionStart..<pfn)
  }
}
