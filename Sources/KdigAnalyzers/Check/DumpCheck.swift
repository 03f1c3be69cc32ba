// The plug-in point of `kdig check`: each verifying analyzer is wrapped as a DumpCheck that
// turns a kernel into one section of the dump's report (docs/ci.md). A new analyzer joins
// the batch by adding one line to `DumpChecks`.

import KdigKernel

/// How one section (one check) of a dump's report ended.
public enum CheckStatus: String, Sendable, Codable {
  /// Ran, and found nothing of severity error.
  case passed
  /// Ran, and found at least one finding of severity error.
  case failed
  /// Could not look at what it checks (its page is not in the dump); other sections say why.
  case skipped
  /// Threw: the check could not run (missing type, unreadable structure).
  case error
}

/// A page a check reads, so the dump-integrity check can tell when the dump lacks it.
public struct NeededPage: Sendable {
  /// What lives there, e.g. "idt_table".
  public var what: String
  /// Its kernel virtual address.
  public var address: UInt64

  public init(_ what: String, _ address: UInt64) {
    self.what = what
    self.address = address
  }
}

/// Why a check (or a whole dump) could not be checked.
public struct CheckFailure: Sendable, Codable, Equatable {
  /// An error category (`malformed-input`, `debug-info`, …, or `crashed`/`timeout` for a
  /// checker process that died).
  public var category: String
  public var message: String

  public init(category: String, message: String) {
    self.category = category
    self.message = message
  }
}

/// One check's part of a dump's report.
public struct CheckSection: Sendable {
  public var name: String
  public var status: CheckStatus
  public var checks: [CheckResult]
  public var findings: [Finding]
  /// Set when `status` is `.error`.
  public var failure: CheckFailure?

  /// A section whose status follows from its findings: failed on any error finding.
  public init(name: String, checks: [CheckResult], findings: [Finding]) {
    self.name = name
    self.checks = checks
    self.findings = findings
    status = findings.contains { $0.severity == .error } ? .failed : .passed
  }

  /// The section of a check that threw.
  public init(name: String, failure: CheckFailure) {
    self.name = name
    status = .error
    checks = []
    findings = []
    self.failure = failure
  }
}

/// A check `kdig check` runs on every dump.
public protocol DumpCheck: Sendable {
  /// Stable section name; also the prefix of its finding ids (`idt` → `idt.*`).
  var name: String { get }
  /// Runs the check. Throwing makes the section (and the dump) status error.
  func run(kernel: KernelImage) throws -> CheckSection
  /// Pages the check reads; the dump-integrity check reports those the dump lacks.
  func pagesNeeded(kernel: KernelImage) -> [NeededPage]
}

extension DumpCheck {
  public func pagesNeeded(kernel: KernelImage) -> [NeededPage] { [] }
}
