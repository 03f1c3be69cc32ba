// The interface between dump readers and everything above them: physical memory, read by
// address. A reader implements one primitive; typed reads are built on it here.

import KdigBinary

/// A half-open range of physical addresses.
public struct PhysicalRange: Hashable, Sendable, Codable {
  public var start: UInt64
  /// One past the last address.
  public var end: UInt64

  public init(start: UInt64, end: UInt64) {
    self.start = start
    self.end = end
  }

  public var size: UInt64 { end &- start }
  public func contains(_ address: UInt64) -> Bool { address >= start && address < end }
}

/// Physical memory of the dumped machine.
public protocol PhysicalMemory: AnyObject {
  /// Page size of the dumped machine.
  var pageSize: Int { get }
  /// The RAM ranges the dump describes (holes excluded), ascending.
  var ranges: [PhysicalRange] { get }
  /// Copies `buffer.count` bytes starting at physical `address` into `buffer`.
  /// Throws a `MemoryError` saying why any byte is unavailable.
  func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError)
}

extension PhysicalMemory {
  /// Total bytes of RAM the dump describes.
  /// Saturating: range sizes come from the dump, and a hostile total must not wrap to a
  /// small plausible number.
  public var describedMemorySize: UInt64 { ranges.reduce(0) { $0.saturatingAdd($1.size) } }

  /// Reads `count` bytes at `address`.
  public func bytes(at address: UInt64, count: Int) throws(MemoryError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var failure: MemoryError?
    out.withUnsafeMutableBytes { buf in
      do throws(MemoryError) { try read(address, into: buf) } catch { failure = error }
    }
    if let failure { throw failure }
    return out
  }

  /// Reads a little-endian integer at `address`.
  public func integer<T: FixedWidthInteger>(_ type: T.Type, at address: UInt64) throws(MemoryError)
    -> T
  {
    var value = T.zero
    var failure: MemoryError?
    withUnsafeMutableBytes(of: &value) { buf in
      do throws(MemoryError) { try read(address, into: buf) } catch { failure = error }
    }
    if let failure { throw failure }
    return T(littleEndian: value)
  }

  /// Reads a little-endian 64-bit word at `address`.
  public func u64(at address: UInt64) throws(MemoryError) -> UInt64 {
    try integer(UInt64.self, at: address)
  }
}
