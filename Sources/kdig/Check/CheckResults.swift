// What a `kdig check` run collects as the children finish: each report with the baseline
// applied, in the order the dumps were given, and the counts for the summary.

import Kdig

/// The reports of one batch and its summary.
struct CheckResults {
  var baseline: CheckBaseline?
  private var reports: [DumpCheckReport?]
  private(set) var summary = CheckBatchSummary()

  init(dumps: Int, jobs: Int, baseline: CheckBaseline?) {
    self.baseline = baseline
    reports = Array(repeating: nil, count: dumps)
    summary.jobs = jobs
  }

  /// Applies the baseline to the report of dump `index`, records and returns it.
  mutating func add(_ index: Int, _ childReport: DumpCheckReport) -> DumpCheckReport {
    var report = childReport
    baseline?.apply(to: &report)
    reports[index] = report
    summary.add(report)
    return report
  }

  /// Every report, in the order the dumps were given.
  var all: [DumpCheckReport] { reports.compactMap { $0 } }

  /// Completes the summary once every dump is done, or once `signal` stopped the batch.
  mutating func finish(elapsed: Double, interruptedBy signal: Int32? = nil) -> CheckBatchSummary {
    summary.elapsed = (elapsed * 1000).rounded() / 1000
    summary.unmatchedBaseline = baseline?.unmatched ?? []
    summary.exitCode = checkExitCode(summary)
    if let signal {
      summary.interrupted = InterruptSignals.name(signal)
      summary.notChecked = reports.count - summary.total
      summary.exitCode = 128 + signal
    }
    return summary
  }
}

/// The exit code of a batch (docs/exit-codes.md): 2 when any dump could not be checked, else
/// 1 when any has findings, else 0 (128 + the signal when interrupted: `finish`).
func checkExitCode(_ s: CheckBatchSummary) -> Int32 {
  s.error > 0 ? 2 : s.findings > 0 ? 1 : 0
}
