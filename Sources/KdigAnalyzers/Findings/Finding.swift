// What a check found, with its evidence: the shared result type of kdig's verifying
// analyzers (idt --verify-ro now; GDT/TSS/cpu_entry_area and `kdig check` later).

import KdigBinary

/// How serious a finding is.
public enum Severity: String, Sendable, Codable, Comparable {
  /// Known kernel behaviour worth knowing (does not fail a check).
  case info
  /// Unusual but explained; reported, does not fail a check.
  case warning
  /// The dump differs from what the kernel builds: the check fails (exit 1).
  case error

  var rank: Int { self == .error ? 2 : self == .warning ? 1 : 0 }
  public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One finding.
public struct Finding: Sendable, Encodable {
  public var severity: Severity
  /// Stable machine-readable code, e.g. `idt.handler-outside-text`.
  public var code: String
  /// The IDT vector (or other index) the finding is about, if any.
  public var vector: Int?
  public var message: String
  /// Expected vs found values and addresses, as strings (hex for addresses).
  public var evidence: [String: String]

  public init(_ severity: Severity, _ code: String, vector: Int? = nil, _ message: String, evidence: [String: String] = [:]) {
    self.severity = severity
    self.code = code
    self.vector = vector
    self.message = message
    self.evidence = evidence
  }
}

/// A named check and whether it passed.
public struct CheckResult: Sendable, Encodable {
  public var name: String
  /// passed, failed, or skipped (with the reason in `detail`).
  public var status: String
  public var detail: String

  public init(_ name: String, _ status: String, _ detail: String) {
    self.name = name
    self.status = status
    self.detail = detail
  }
}
