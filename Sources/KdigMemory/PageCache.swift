// A small cache of decoded pages for readers whose pages cost work (decompression).
// Direct-mapped on the page frame number: O(1), bounded memory, no eviction bookkeeping.

import KdigBinary

/// A fixed-size cache from page frame number to decoded page bytes.
public final class PageCache {
  private let slots: Int
  private var frames: [UInt64]
  private var pages: [ByteBox?]

  /// A cache of `slots` pages (rounded up to a power of two).
  public init(slots: Int = 64) {
    var n = 1
    while n < max(1, slots) { n <<= 1 }
    self.slots = n
    frames = [UInt64](repeating: .max, count: n)
    pages = [ByteBox?](repeating: nil, count: n)
  }

  /// The cached page for `pfn`, if present.
  @inline(__always)
  public func lookup(_ pfn: UInt64) -> ByteBox? {
    let i = Int(truncatingIfNeeded: pfn) & (slots - 1)
    return frames[i] == pfn ? pages[i] : nil
  }

  /// Stores `page` as the bytes of `pfn`.
  public func store(_ pfn: UInt64, _ page: ByteBox) {
    let i = Int(truncatingIfNeeded: pfn) & (slots - 1)
    frames[i] = pfn
    pages[i] = page
  }
}
