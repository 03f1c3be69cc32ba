// Arithmetic on sizes and offsets read from a file: overflow is a malformed-input error,
// never a trap.

extension UInt64 {
  /// `self + other`, or nil on overflow.
  @inlinable public func adding(_ other: UInt64) -> UInt64? {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? nil : sum
  }

  /// `self * other`, or nil on overflow.
  @inlinable public func multiplied(by other: UInt64) -> UInt64? {
    let (product, overflow) = multipliedReportingOverflow(by: other)
    return overflow ? nil : product
  }
}

/// Checked arithmetic that throws a `BinaryError` naming the file, offset and quantity.
public struct CheckedArithmetic {
  public let file: String
  public let offset: UInt64

  public init(file: String, offset: UInt64) {
    self.file = file
    self.offset = offset
  }

  public func add(_ a: UInt64, _ b: UInt64, _ what: @autoclosure () -> String) throws(BinaryError)
    -> UInt64
  {
    guard let r = a.adding(b) else {
      throw BinaryError(
        file: file, offset: offset, expected: "\(what()) to fit in 64 bits",
        found: "0x\(String(a, radix: 16)) + 0x\(String(b, radix: 16))")
    }
    return r
  }

  public func multiply(_ a: UInt64, _ b: UInt64, _ what: @autoclosure () -> String)
    throws(BinaryError) -> UInt64
  {
    guard let r = a.multiplied(by: b) else {
      throw BinaryError(
        file: file, offset: offset, expected: "\(what()) to fit in 64 bits",
        found: "0x\(String(a, radix: 16)) * 0x\(String(b, radix: 16))")
    }
    return r
  }

  /// Converts a file-supplied 64-bit count to `Int`, bounded by `limit`.
  public func int(_ value: UInt64, limit: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> Int
  {
    guard value <= UInt64(limit) else {
      throw BinaryError(
        file: file, offset: offset, expected: "\(what()) of at most \(limit)",
        found: "\(value)")
    }
    return Int(value)
  }
}

extension UInt64 {
  /// `self + other`, clamped to `UInt64.max`: for totals of sizes read from a dump, where a
  /// hostile value must give a large (and visibly implausible) number, never a trap or a
  /// wrapped small one.
  @inlinable public func saturatingAdd(_ other: UInt64) -> UInt64 {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? .max : sum
  }

  /// `self * other`, clamped to `UInt64.max` (see `saturatingAdd`).
  @inlinable public func saturatingMultiply(_ other: UInt64) -> UInt64 {
    let (product, overflow) = multipliedReportingOverflow(by: other)
    return overflow ? .max : product
  }
}
