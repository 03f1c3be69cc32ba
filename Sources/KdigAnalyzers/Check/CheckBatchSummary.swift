// The last line of `kdig check --json` and of its text output: counts over the batch.

/// Counts over every dump of one `kdig check` run.
public struct CheckBatchSummary: Sendable, Codable {
  /// Dumps checked, and how many ended in each status.
  public var total = 0
  public var ok = 0
  public var findings = 0
  public var error = 0
  /// Error findings that count (not accepted), warnings, and findings a baseline accepted.
  public var findingCount = 0
  public var warningCount = 0
  public var acceptedCount = 0
  /// Baseline entries that accepted nothing in this run.
  public var unmatchedBaseline: [BaselineEntry] = []
  /// The exit code of the run (set by the command line: docs/exit-codes.md).
  public var exitCode: Int32 = 0
  /// Wall time of the whole batch, in seconds.
  public var elapsed: Double = 0
  public var jobs = 1
  /// The signal that stopped the batch ("SIGINT", "SIGTERM"); nil when every dump finished.
  public var interrupted: String?
  /// Dumps given but not checked because the batch was interrupted.
  public var notChecked = 0

  public init() {}

  /// Every field, `interrupted` as null when the batch finished (one schema for consumers).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(total, forKey: .total)
    try c.encode(ok, forKey: .ok)
    try c.encode(findings, forKey: .findings)
    try c.encode(error, forKey: .error)
    try c.encode(findingCount, forKey: .findingCount)
    try c.encode(warningCount, forKey: .warningCount)
    try c.encode(acceptedCount, forKey: .acceptedCount)
    try c.encode(unmatchedBaseline, forKey: .unmatchedBaseline)
    try c.encode(exitCode, forKey: .exitCode)
    try c.encode(elapsed, forKey: .elapsed)
    try c.encode(jobs, forKey: .jobs)
    try c.encode(interrupted, forKey: .interrupted)
    try c.encode(notChecked, forKey: .notChecked)
  }

  public mutating func add(_ r: DumpCheckReport) {
    total += 1
    switch r.status {
    case .ok: ok += 1
    case .findings: findings += 1
    case .error: error += 1
    }
    findingCount += r.errorCount
    warningCount += r.warningCount
    acceptedCount += r.acceptedCount
  }
}
