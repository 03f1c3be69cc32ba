// Errors from parsing untrusted bytes: always the file, the offset and what was expected.

/// A structural problem at a known place in a file.
public struct BinaryError: KdigError, Equatable {
  /// The file (or logical stream) the bytes came from.
  public var file: String
  /// Byte offset in that file where the problem is.
  public var offset: UInt64
  /// What a well-formed file has there.
  public var expected: String
  /// What was found instead, when it helps.
  public var found: String?

  public init(file: String, offset: UInt64, expected: String, found: String? = nil) {
    self.file = file
    self.offset = offset
    self.expected = expected
    self.found = found
  }

  public var category: ErrorCategory { .malformedInput }

  public var description: String {
    var text = "\(file): offset 0x\(String(offset, radix: 16)): expected \(expected)"
    if let found { text += ", found \(found)" }
    return text
  }
}

/// A file that could not be opened or mapped.
public struct FileError: KdigError {
  public var path: String
  public var reason: String

  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }

  public var category: ErrorCategory { .unreadable }
  public var description: String { "\(path): \(reason)" }
}

/// A file that is well formed but not something kdig reads.
public struct UnsupportedError: KdigError {
  public var file: String
  public var reason: String

  public init(file: String, reason: String) {
    self.file = file
    self.reason = reason
  }

  public var category: ErrorCategory { .unsupported }
  public var description: String { "\(file): \(reason)" }
}
