// Random access to a logical file. A plain file is its own logical file; makedumpfile's
// flattened format is a logical file spread over records (KdigDump provides that one).

/// A random-access, read-only sequence of bytes with a name for errors.
public protocol ByteSource: AnyObject {
  /// The path (or description) used in error messages.
  var name: String { get }
  /// Size of the logical file in bytes.
  var size: UInt64 { get }
  /// `count` bytes at `offset`, or a `BinaryError` saying what was expected there.
  func view(at offset: UInt64, count: Int, _ what: @autoclosure () -> String) throws(BinaryError)
    -> ByteView
}

extension ByteSource {
  /// The error for a read past the end of this source.
  public func pastEnd(_ offset: UInt64, _ count: Int, _ what: String) -> BinaryError {
    BinaryError(
      file: name, offset: offset, expected: "\(count) bytes of \(what)",
      found: offset >= size ? "end of file at 0x\(String(size, radix: 16))"
        : "\(size - offset) bytes before the end")
  }
}
