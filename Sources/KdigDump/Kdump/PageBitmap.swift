// A kdump page bitmap: bit n (LSB first within each byte) describes pfn n (makedumpfile.h
// is_on; crash diskdump.c get_bit). Scans go a 64-bit word at a time; bits past the end
// of the stored bytes read as clear.

import KdigBinary

/// Read-only bit operations over bitmap bytes from a dump.
struct PageBitmap {
  let view: ByteView

  /// Number of pfns the stored bytes describe.
  var bitCount: UInt64 { UInt64(view.count) * 8 }

  /// True when the bit of `pfn` is set.
  func contains(_ pfn: UInt64) -> Bool {
    guard pfn < bitCount else { return false }
    let byte = view.bytes[Int(pfn >> 3)]  // in bounds: pfn < 8 * count
    return byte & (1 << UInt8(pfn & 7)) != 0
  }

  /// The 64 bits of pfns 64*index ..< 64*index+64, little-endian; zero past the end.
  func word(_ index: UInt64) -> UInt64 {
    let count = UInt64(view.count)
    guard index < count / 8 + 1 else { return 0 }
    let start = Int(index * 8)  // < count + 8, fits Int
    if start + 8 <= view.count {
      return UInt64(littleEndian: view.bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
    }
    var value: UInt64 = 0
    var i = start
    while i < view.count {
      value |= UInt64(view.bytes[i]) << UInt64(8 * (i - start))
      i += 1
    }
    return value
  }

  /// Bits `lo ..< hi` of the word that holds `pfn`, shifted down to bit 0, with the
  /// number of pfns the result covers (at most 64, never past `end`).
  private func bits(from pfn: UInt64, end: UInt64) -> (value: UInt64, span: UInt64) {
    let shift = pfn & 63
    let span = min(64 - shift, end - pfn)
    var value = word(pfn >> 6) >> shift
    if span < 64 { value &= (UInt64(1) << span) - 1 }
    return (value, span)
  }

  /// Number of set bits for pfns in `range`.
  func count(in range: Range<UInt64>) -> UInt64 {
    var total: UInt64 = 0
    var pfn = range.lowerBound
    while pfn < range.upperBound {
      let (value, span) = bits(from: pfn, end: range.upperBound)
      total += UInt64(value.nonzeroBitCount)
      pfn += span
    }
    return total
  }

  /// Maximal runs of set bits within `range`, ascending.
  func runs(in range: Range<UInt64>) -> [Range<UInt64>] {
    var out: [Range<UInt64>] = []
    var runStart: UInt64?
    var pfn = range.lowerBound
    while pfn < range.upperBound {
      let (value, span) = bits(from: pfn, end: range.upperBound)
      if let start = runStart {
        let mask = span == 64 ? UInt64.max : (UInt64(1) << span) - 1
        let clear = ~value & mask
        if clear == 0 {
          pfn += span
        } else {
          pfn += UInt64(clear.trailingZeroBitCount)
          out.append(start..<pfn)
          runStart = nil
        }
      } else if value == 0 {
        pfn += span
      } else {
        pfn += UInt64(value.trailingZeroBitCount)
        runStart = pfn
      }
    }
    if let start = runStart { out.append(start..<range.upperBound) }
    return out
  }

  /// The highest pfn in `range` whose bit is set.
  func last(in range: Range<UInt64>) -> UInt64? {
    var end = range.upperBound
    while end > range.lowerBound {
      // The word holding end-1, clipped to [range.lowerBound, end).
      let from = max(range.lowerBound, (end - 1) & ~63)
      let (value, _) = bits(from: from, end: end)
      if value != 0 { return from + UInt64(63 - value.leadingZeroBitCount) }
      end = from
    }
    return nil
  }
}
