// A real dump seen through a filter that reports chosen page frames as excluded, the way a
// makedumpfile -d dump that dropped them would (for tests of "page excluded" paths on real
// kernels, e.g. the IDT page of makedumpfile#21).

import KdigBinary
import KdigDump
import KdigMemory

/// Forwards to `base`, except that reads touching `excluded` frames fail as excluded.
public final class ExcludingDump: WrappingDump {
  public let base: any DumpFile
  public let excluded: Set<UInt64>

  public init(_ base: any DumpFile, excludingFrames frames: Set<UInt64>) {
    self.base = base
    excluded = frames
  }

  public var wrapped: any DumpFile { base }

  public func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    let first = address >> 12
    let last = (address &+ UInt64(max(buffer.count, 1)) &- 1) >> 12
    for frame in first...max(first, last) where excluded.contains(frame) {
      throw MemoryError(address: max(address, frame << 12), reason: .excluded, source: path)
    }
    try base.read(address, into: buffer)
  }
}
