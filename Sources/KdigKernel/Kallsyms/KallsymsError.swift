// Why the dump's kallsyms could not be used: the tables are not announced (no VMCOREINFO
// SYMBOL()s), or what they hold is impossible (a damaged dump).

import KdigBinary

/// A problem with the kallsyms tables in a dump.
public struct KallsymsError: KdigError {
  public enum Kind: Sendable {
    /// VMCOREINFO does not say where the tables are: no symbols without a vmlinux.
    case notAnnounced
    /// A table holds something the kernel never writes (a length past the end, a token
    /// index out of range, an impossible symbol count).
    case corrupt
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var category: ErrorCategory { kind == .notAnnounced ? .debugInfo : .malformedInput }
  public var description: String { message }
}
