// Errors of the type layer: a missing type, member or enumerator names what was looked
// for and in which file (drgn's "missing debug info" errors; style-anchors.md rule 3).

import KdigBinary

/// A type lookup that failed, or debug information that cannot be used.
public struct KernelTypeError: KdigError, Equatable {
  /// The file (vmlinux path, or a description of where BTF came from).
  public var file: String
  /// What was looked for and why it failed (`no member 'foo' in struct mm_struct`).
  public var message: String
  public var category: ErrorCategory

  public init(file: String, _ message: String, category: ErrorCategory = .debugInfo) {
    self.file = file
    self.message = message
    self.category = category
  }

  public var description: String { "\(file): \(message)" }
}
