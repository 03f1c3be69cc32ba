// Sizes and totals made from dump values never trap (issue 11): humanSize takes any UInt64
// (a PT_LOAD p_memsz of 2^63 once trapped `kdig info` in it), and sums of sizes saturate.

import Kdig
import Testing

@Suite struct SizeTotalsTests {
  @Test func humanSizeTakesEveryValue() {
    #expect(humanSize(0) == "0 bytes")
    #expect(humanSize(1023) == "1023 bytes")
    #expect(humanSize(536_346_624) == "511.5 MB")
    #expect(humanSize(1 << 30) == "1 GB")
    #expect(humanSize(1 << 63) == "8388608 TB")
    #expect(humanSize(UInt64.max) == "16777216 TB")
    #expect(humanSize(UInt64.max - (1 << 39)) == "16777215.5 TB")
    #expect(humanSize((1 << 40) + (1 << 39)) == "1.5 TB")
  }

  /// Two ranges of 2^63 bytes each: the total clamps at 2^64 - 1 instead of wrapping to 0.
  @Test func describedMemorySaturates() {
    final class Huge: PhysicalMemory {
      let pageSize = 4096
      let ranges = [PhysicalRange(start: 0, end: 1 << 63), PhysicalRange(start: 1 << 63, end: .max)]
      func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {}
    }
    #expect(Huge().describedMemorySize == .max)
    #expect(UInt64.max.saturatingAdd(1) == .max && (1 << 32 as UInt64).saturatingMultiply(1 << 32) == .max)
  }
}
