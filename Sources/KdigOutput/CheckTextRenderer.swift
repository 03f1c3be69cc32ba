// `kdig check` as text: one line per dump as it finishes, then the findings grouped by dump,
// then a summary line.

import Foundation
import KdigAnalyzers

/// Text output of `kdig check`.
public enum CheckTextRenderer {
  /// "OK       6.12.107+deb12-cloud-amd64  0 findings  PATH  panic: sysrq triggered crash".
  public static func line(_ r: DumpCheckReport) -> String {
    let status = r.status.rawValue.uppercased().padding(toLength: 9, withPad: " ", startingAt: 0)
    let release = pad(r.kernel?.release ?? "unknown", 26)
    if r.status == .error {
      let e = r.error ?? CheckFailure(category: "error", message: "unknown error")
      return "\(status)\(release)  \(e.category)  \(r.dump): \(e.message)"
    }
    let panic = r.crash?.message.map { "  panic: \($0)" } ?? ""
    return "\(status)\(release)  \(counts(r))  \(r.dump)\(panic)"
  }

  /// "1 finding, 1 warning, 2 accepted".
  static func counts(_ r: DumpCheckReport) -> String {
    var parts = [plural(r.errorCount, "finding")]
    if r.warningCount > 0 { parts.append(plural(r.warningCount, "warning")) }
    if r.acceptedCount > 0 { parts.append("\(r.acceptedCount) accepted") }
    return parts.joined(separator: ", ")
  }

  /// Error and accepted findings grouped by dump (in the order the dumps were given), then
  /// the warnings once per distinct message: the same known warning on every dump of a
  /// kernel is one line, not one per dump.
  public static func findings(_ reports: [DumpCheckReport]) -> String {
    var out = ""
    for r in reports {
      let shown = r.findings.filter { $0.severity == .error || $0.accepted != nil }
      guard !shown.isEmpty || r.status == .error else { continue }
      out += "\n\(r.dump) (\(r.kernel?.release ?? "unknown release")):\n"
      if let e = r.error { out += "  ERROR    \(e.category): \(e.message)\n" }
      for f in shown.sorted(by: { ($0.accepted == nil ? 1 : 0) > ($1.accepted == nil ? 1 : 0) }) {
        let vector = f.vector.map { " [vector \($0)]" } ?? ""
        out += "  \(pad(f.accepted == nil ? "FINDING" : "ACCEPTED", 8)) \(f.id)\(vector): \(f.message)\n"
        if let reason = f.accepted {
          out += "           baseline: \(reason)\n"
        } else if !f.evidence.isEmpty {
          let evidence = f.evidence.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
          out += "           evidence: \(evidence.joined(separator: ", "))\n"
        }
      }
    }
    out += warnings(reports)
    return out
  }

  /// "WARNING  idt.early-handler (10 dumps): vectors 22, …", one line per id and message.
  static func warnings(_ reports: [DumpCheckReport]) -> String {
    var order: [String] = []
    var groups: [String: (id: String, message: String, dumps: Int)] = [:]
    for r in reports {
      for f in r.findings where f.severity == .warning && f.accepted == nil {
        let key = f.id + "\u{0}" + f.message
        if groups[key] == nil {
          order.append(key)
          groups[key] = (f.id, f.message, 0)
        }
        groups[key]?.dumps += 1
      }
    }
    guard !order.isEmpty else { return "" }
    var out = "\nwarnings:\n"
    for key in order {
      guard let g = groups[key] else { continue }
      out += "  WARNING  \(g.id) (\(plural(g.dumps, "dump"))): \(g.message)\n"
    }
    return out
  }

  /// "17 dumps: 16 ok, 1 with findings, 0 errors (3 findings, 17 warnings, 0 accepted) in 2.1 s, exit 1".
  public static func summary(_ s: CheckBatchSummary) -> String {
    var out = "\n\(plural(s.total, "dump")): \(s.ok) ok, \(s.findings) with findings, \(plural(s.error, "error")) "
    out += "(\(plural(s.findingCount, "finding")), \(plural(s.warningCount, "warning")), \(s.acceptedCount) accepted) "
    out += "in \(String(format: "%.2f", s.elapsed)) s, \(s.jobs) job\(s.jobs == 1 ? "" : "s"), exit \(s.exitCode)\n"
    if let signal = s.interrupted {
      out += "interrupted by \(signal): \(plural(s.notChecked, "dump")) not checked\n"
    }
    for e in s.unmatchedBaseline {
      out += "baseline entry matched nothing: \(describe(e))\n"
    }
    return out
  }

  /// "idt.early-handler (release 6.1.*, dump *.vmcore): reason".
  public static func describe(_ e: BaselineEntry) -> String {
    var scope: [String] = []
    if let r = e.release { scope.append("release \(r)") }
    if let d = e.dump { scope.append("dump \(d)") }
    return e.id + (scope.isEmpty ? "" : " (\(scope.joined(separator: ", ")))") + ": \(e.reason)"
  }

  static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

  static func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s.padding(toLength: width, withPad: " ", startingAt: 0)
  }
}
