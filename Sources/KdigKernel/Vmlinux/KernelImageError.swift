// Errors about the kernel image: a vmlinux that cannot be used, or does not match the dump.

import KdigBinary

/// A problem with the vmlinux or with what the dump says about the kernel.
public struct KernelImageError: KdigError {
  public enum Kind: Sendable {
    /// No vmlinux was given and none was found in the usual places.
    case vmlinuxNotFound
    /// The vmlinux is not an x86-64 ELF kernel, or libelf rejected it.
    case badVmlinux
    /// The vmlinux is from another build than the dump's kernel.
    case mismatch
    /// The dump lacks what kdig needs to locate the kernel (no VMCOREINFO, no CPU state).
    case cannotLocateKernel
    /// A symbol is not in the vmlinux symbol table.
    case unknownSymbol
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var category: ErrorCategory {
    switch kind {
    case .vmlinuxNotFound, .mismatch: return .debugInfo
    case .badVmlinux: return .malformedInput
    case .cannotLocateKernel: return .debugInfo
    case .unknownSymbol: return .usage
    }
  }

  public var description: String { message }
}
