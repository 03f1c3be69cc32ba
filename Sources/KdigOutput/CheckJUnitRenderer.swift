// `kdig check --junit FILE`: one testsuite, one testcase per dump; findings are a <failure>,
// an unreadable dump an <error>, so CI systems (GitHub, GitLab, Jenkins) show each dump.

import Foundation
import KdigAnalyzers

/// JUnit XML of a `kdig check` run.
public enum CheckJUnitRenderer {
  public static func render(_ reports: [DumpCheckReport], summary s: CheckBatchSummary) -> String {
    let time = seconds(s.elapsed)
    var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    out += "<testsuites name=\"kdig check\" tests=\"\(s.total)\" failures=\"\(s.findings)\" errors=\"\(s.error)\" time=\"\(time)\">\n"
    out += "  <testsuite name=\"kdig check\" tests=\"\(s.total)\" failures=\"\(s.findings)\" errors=\"\(s.error)\" skipped=\"0\" time=\"\(time)\">\n"
    for r in reports { out += testcase(r) }
    out += "  </testsuite>\n</testsuites>\n"
    return out
  }

  static func testcase(_ r: DumpCheckReport) -> String {
    let classname = "kdig.check." + (r.kernel?.release ?? "unknown")
    var out = "    <testcase classname=\"\(escape(classname))\" name=\"\(escape(r.dump))\" time=\"\(seconds(r.elapsed))\""
    var body = ""
    switch r.status {
    case .ok: break
    case .findings:
      let counting = r.findings.filter(\.counts)
      let ids = Array(Set(counting.map(\.id))).sorted().joined(separator: ", ")
      body += "      <failure type=\"findings\" message=\"\(escape("\(counting.count) finding\(counting.count == 1 ? "" : "s"): \(ids)"))\">"
      body += escape(details(counting)) + "</failure>\n"
    case .error:
      let e = r.error ?? CheckFailure(category: "error", message: "unknown error")
      body += "      <error type=\"\(escape(e.category))\" message=\"\(escape(e.message))\">\(escape(e.message))</error>\n"
    }
    let other = r.findings.filter { !$0.counts }
    if !other.isEmpty { body += "      <system-out>\(escape(details(other)))</system-out>\n" }
    out += body.isEmpty ? "/>\n" : ">\n\(body)    </testcase>\n"
    return out
  }

  /// One block per finding: severity, id, message, evidence, baseline reason.
  static func details(_ findings: [DumpFinding]) -> String {
    findings.map { f in
      var s = "[\(f.accepted == nil ? f.severity.rawValue : "accepted")] \(f.section): \(f.id)"
      if let v = f.vector { s += " (vector \(v))" }
      s += ": \(f.message)"
      for (k, v) in f.evidence.sorted(by: { $0.key < $1.key }) { s += "\n    \(k): \(v)" }
      if let reason = f.accepted { s += "\n    baseline: \(reason)" }
      return s
    }.joined(separator: "\n")
  }

  static func seconds(_ t: Double) -> String { String(format: "%.3f", t) }

  /// Escapes text for an XML 1.0 attribute or element; characters XML 1.0 cannot carry
  /// (controls other than tab, LF, CR; lone surrogates cannot occur in a String) become U+FFFD.
  public static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\t": out += "&#9;"
      case "\n": out += "&#10;"
      case "\r": out += "&#13;"
      default:
        let v = scalar.value
        if v < 0x20 || v == 0xFFFE || v == 0xFFFF {
          out += "\u{FFFD}"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out
  }
}
