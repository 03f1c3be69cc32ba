// Why a physical address cannot be read. Each reason is its own case: a page excluded by
// makedumpfile is not a hole, and neither is a zero page.

import KdigBinary

/// A physical read that the dump cannot satisfy.
public struct MemoryError: KdigError {
  /// Why the bytes are unavailable.
  public enum Reason: Sendable, Equatable {
    /// The page existed but the dump filtered it out (makedumpfile `-d`).
    case excluded
    /// Not RAM in the dumped machine (a hole in physical memory).
    case hole
    /// Beyond the highest page frame the dump covers (`max_mapnr`).
    case beyondEnd(maxPFN: UInt64)
    /// The dump was cut short (makedumpfile ran out of space); this page was never written.
    case incomplete
    /// No segment or split file of the dump covers the address.
    case notCovered
    /// The page is in the dump but its stored data is malformed.
    case corrupt(String)
  }

  /// The physical address asked for.
  public var address: UInt64
  public var reason: Reason
  /// The dump file, for messages.
  public var source: String

  public init(address: UInt64, reason: Reason, source: String) {
    self.address = address
    self.reason = reason
    self.source = source
  }

  public var category: ErrorCategory {
    if case .corrupt = reason { return .malformedInput }
    return .notInDump
  }

  public var description: String {
    let pa = "physical address 0x\(String(address, radix: 16))"
    switch reason {
    case .excluded: return "\(source): \(pa): page excluded from this dump (filtered by makedumpfile)"
    case .hole: return "\(source): \(pa): not RAM (a hole in physical memory)"
    case .beyondEnd(let max):
      return "\(source): \(pa): beyond the end of the dump (max_mapnr 0x\(String(max, radix: 16)))"
    case .incomplete: return "\(source): \(pa): page missing, the dump is incomplete"
    case .notCovered: return "\(source): \(pa): not in any segment of the dump"
    case .corrupt(let why): return "\(source): \(pa): \(why)"
    }
  }
}
