// Bit-field helpers shared by the descriptor decoders: named bit ranges of a raw value
// (the swift-mmio `bits:` idiom) and strict, bounds-checked loading of fixed-size records.

import KdigBinary

extension UInt64 {
  /// Bits `range` (LSB = 0) shifted down to bit 0; ranges past bit 63 read as zero.
  @inline(__always) subscript(bits range: Range<Int>) -> UInt64 {
    // Swift's `>>` and `<<` are smart shifts: a count ≥ 64 gives 0, never a trap.
    let width = range.count
    let mask: UInt64 = width >= 64 ? ~0 : (1 << UInt64(width)) &- 1
    return (self >> UInt64(range.lowerBound)) & mask
  }

  /// Bit `n` (LSB = 0) as a flag.
  @inline(__always) func bit(_ n: Int) -> Bool { self[bits: n..<(n + 1)] != 0 }

  /// The eight bytes of the value, least significant first (x86 memory order).
  var littleEndianBytes: [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: self >> UInt64($0 * 8)) }
  }
}

/// Name used as the "file" of errors about bytes handed over as an array.
let arrayFileName = "[UInt8]"

/// A view of `bytes` after checking it holds exactly `count` bytes of `what`.
func exactView(_ bytes: [UInt8], count: Int, _ what: String) throws(BinaryError) -> ByteView {
  guard bytes.count == count else {
    throw BinaryError(
      file: arrayFileName, offset: 0, expected: "exactly \(count) bytes of \(what)",
      found: "\(bytes.count) bytes")
  }
  return ByteView.copying(bytes, file: arrayFileName, fileOffset: 0)
}
