// What `kdig check` says about one dump: one JSON Lines object (docs/ci.md). Every field is
// always present (null when unknown) so consumers can validate against one schema; the
// checker child process writes it and the parent reads it back, hence Codable.

import KdigKernel

/// The verdict on one dump.
public enum DumpCheckStatus: String, Sendable, Codable {
  /// Every check ran; no finding of severity error (warnings allowed).
  case ok
  /// At least one finding of severity error that no baseline entry accepted.
  case findings
  /// The dump could not be checked: unreadable, no vmlinux, a check threw, the checker died.
  case error
}

/// The kernel a dump holds, as far as it is known.
public struct KernelIdentity: Sendable, Codable, Equatable {
  public var release: String?
  public var buildID: String?
  /// The vmlinux used (nil when none was found).
  public var vmlinux: String?
  /// How kdig came by it: given, searched, or fetched from debuginfod.
  public var vmlinuxSource: VmlinuxSource?
  /// Why no vmlinux is used although none was refused by the user: where kdig looked and
  /// what debuginfod answered (the notice other commands print on stderr).
  public var vmlinuxNotice: String?

  public init(
    release: String?, buildID: String?, vmlinux: String?, vmlinuxSource: VmlinuxSource? = nil, vmlinuxNotice: String? = nil
  ) {
    self.release = release
    self.buildID = buildID
    self.vmlinux = vmlinux
    self.vmlinuxSource = vmlinuxSource
    self.vmlinuxNotice = vmlinuxNotice
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(release, forKey: .release)
    try c.encode(buildID, forKey: .buildID)
    try c.encode(vmlinux, forKey: .vmlinux)
    try c.encode(vmlinuxSource, forKey: .vmlinuxSource)
    try c.encode(vmlinuxNotice, forKey: .vmlinuxNotice)
  }
}

/// Why the machine died: the panic message from the log, the panicking task and its backtrace.
public struct CrashSummary: Sendable, Codable, Equatable {
  public var message: String?
  public var task: String?
  public var cpu: Int?
  public var frames: [String]

  /// Every key, null when unknown (docs/ci.md, docs/check.schema.json).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(message, forKey: .message)
    try c.encode(task, forKey: .task)
    try c.encode(cpu, forKey: .cpu)
    try c.encode(frames, forKey: .frames)
  }
}

/// One section in JSON: its checks, and how many findings it contributed to `findings`.
public struct CheckSectionReport: Sendable, Codable {
  public var name: String
  public var status: CheckStatus
  public var checks: [CheckResult]
  public var findingCount: Int
  public var error: CheckFailure?

  public init(_ s: CheckSection) {
    name = s.name
    status = s.status
    checks = s.checks
    findingCount = s.findings.count
    error = s.failure
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(status, forKey: .status)
    try c.encode(checks, forKey: .checks)
    try c.encode(findingCount, forKey: .findingCount)
    try c.encode(error, forKey: .error)
  }
}

/// A finding with the section it came from, as `findings` lists them.
public struct DumpFinding: Sendable, Codable {
  public var section: String
  /// The stable finding id (`Finding.code`), e.g. `idt.handler-hooked`.
  public var id: String
  public var severity: Severity
  public var message: String
  public var vector: Int?
  public var evidence: [String: String]
  /// The reason of the baseline entry that accepted it; accepted findings do not count.
  public var accepted: String?

  public init(section: String, _ f: Finding) {
    self.section = section
    id = f.code
    severity = f.severity
    message = f.message
    vector = f.vector
    evidence = f.evidence
  }

  /// An error finding nothing accepted: it makes the dump's status `findings`.
  public var counts: Bool { severity == .error && accepted == nil }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(section, forKey: .section)
    try c.encode(id, forKey: .id)
    try c.encode(severity, forKey: .severity)
    try c.encode(message, forKey: .message)
    try c.encode(vector, forKey: .vector)
    try c.encode(evidence, forKey: .evidence)
    try c.encode(accepted, forKey: .accepted)
  }
}

/// The report on one dump.
public struct DumpCheckReport: Sendable, Codable {
  /// Bumped when a field is removed or changes meaning (JSONOutput.schemaVersion).
  public var schemaVersion: Int
  /// The path as given on the command line.
  public var dump: String
  public var status: DumpCheckStatus
  public var kernel: KernelIdentity?
  public var crash: CrashSummary?
  public var sections: [CheckSectionReport]
  public var findings: [DumpFinding]
  public var error: CheckFailure?
  /// Wall time spent on this dump, in seconds.
  public var elapsed: Double

  public static let currentSchemaVersion = 1

  /// The report of a dump whose checks ran.
  public init(dump: String, kernel: KernelIdentity, sections: [CheckSection], elapsed: Double) {
    schemaVersion = Self.currentSchemaVersion
    self.dump = dump
    self.kernel = kernel
    self.sections = sections.map(CheckSectionReport.init)
    findings = sections.flatMap { s in s.findings.map { DumpFinding(section: s.name, $0) } }
    error = sections.first { $0.failure != nil }.flatMap { s in
      s.failure.map { CheckFailure(category: $0.category, message: "\(s.name) check: \($0.message)") }
    }
    self.elapsed = elapsed
    status = .ok
    updateStatus()
  }

  /// The report of a dump that could not be checked.
  public init(dump: String, kernel: KernelIdentity?, failure: CheckFailure, elapsed: Double) {
    schemaVersion = Self.currentSchemaVersion
    self.dump = dump
    self.kernel = kernel
    sections = []
    findings = []
    error = failure
    self.elapsed = elapsed
    status = .error
  }

  /// Status from the error and the findings (call again after a baseline accepted some).
  public mutating func updateStatus() {
    if error != nil || sections.contains(where: { $0.status == .error }) {
      status = .error
    } else {
      status = findings.contains(where: \.counts) ? .findings : .ok
    }
  }

  /// Error findings that count, and warnings.
  public var errorCount: Int { findings.filter(\.counts).count }
  public var warningCount: Int { findings.filter { $0.severity == .warning && $0.accepted == nil }.count }
  public var acceptedCount: Int { findings.filter { $0.accepted != nil }.count }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(schemaVersion, forKey: .schemaVersion)
    try c.encode(dump, forKey: .dump)
    try c.encode(status, forKey: .status)
    try c.encode(kernel, forKey: .kernel)
    try c.encode(crash, forKey: .crash)
    try c.encode(sections, forKey: .sections)
    try c.encode(findings, forKey: .findings)
    try c.encode(error, forKey: .error)
    try c.encode(elapsed, forKey: .elapsed)
  }
}

extension CheckResult: Decodable {
  enum DecodingKeys: String, CodingKey { case name, status, detail }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: DecodingKeys.self)
    self.init(
      try c.decode(String.self, forKey: .name), try c.decode(String.self, forKey: .status),
      try c.decode(String.self, forKey: .detail))
  }
}
