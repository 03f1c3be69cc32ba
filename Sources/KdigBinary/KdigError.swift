// The closed list of error categories every kdig error maps to. The CLI turns a category
// into an exit code (docs/exit-codes.md); analyzers and readers never pick exit codes.

/// What kind of failure an error is, for users and for CI.
public enum ErrorCategory: String, Sendable, Codable {
  /// A dump or vmlinux is malformed: a header field, size or offset is impossible.
  case malformedInput = "malformed-input"
  /// A file cannot be opened, read or mapped.
  case unreadable
  /// The file is well formed but in a format or version kdig does not read.
  case unsupported
  /// The memory asked for is not in the dump (excluded, hole, beyond the end, incomplete).
  case notInDump = "not-in-dump"
  /// A virtual address does not translate (not mapped, non-canonical, page-table loop).
  case notMapped = "not-mapped"
  /// Debug information (vmlinux, DWARF) is missing or does not match the dump.
  case debugInfo = "debug-info"
  /// The command line asks for something that does not exist (unknown symbol, bad address).
  case usage
}

/// An error that knows its category. Every error kdig throws conforms.
public protocol KdigError: Error, CustomStringConvertible {
  var category: ErrorCategory { get }
}

/// Adds what the caller was doing to an error that travels up, keeping the original.
public struct ContextError: KdigError {
  public let context: String
  public let underlying: any Error

  public init(_ context: String, _ underlying: any Error) {
    self.context = context
    self.underlying = underlying
  }

  public var category: ErrorCategory {
    (underlying as? any KdigError)?.category ?? .unreadable
  }

  public var description: String { "\(context): \(underlying)" }
}

/// Runs `body`, wrapping any error it throws with `context`.
@inlinable
public func withContext<T>(_ context: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch {
    throw ContextError(context(), error)
  }
}
