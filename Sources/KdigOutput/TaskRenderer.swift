// `ps`: crash's ps columns (crash task.c show_ps_data), `>` on each CPU's running task,
// kernel threads' names in brackets; what kdig could not read is `-` or `?` in its column
// and said at the end of the line.

import Foundation
import KdigAnalyzers
import KdigBinary

/// Renders tasks.
public enum TaskRenderer {
  public static let header = "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM\n"

  public static func render(_ tasks: [TaskInfo]) -> String {
    var out = header
    for t in tasks { out += line(t) + "\n" }
    return out
  }

  static func line(_ t: TaskInfo) -> String {
    var out = t.activeOnCPU != nil ? ">" : " "
    out += leftPad(t.pid < 0 ? "?" : "\(t.pid)", 8) + leftPad(t.ppid.map(String.init) ?? "?", 8)
    out += leftPad(t.cpu.map(String.init) ?? "?", 4) + "  " + hexPadded(t.task.value, width: 16)
    out += "  " + rightPad(t.state?.crashName ?? "??", 2)
    out += leftPad(t.memPercent.map { String(format: "%.1f", $0) } ?? "-", 6)
    out += leftPad(t.vszBytes.map { "\($0 / 1024)" } ?? "-", 9)
    out += leftPad(t.rssPages.map { "\($0.multipliedReportingOverflow(by: 4).partialValue)" } ?? "-", 9)
    // crash brackets kernel threads (PF_KTHREAD).
    out += "  " + (t.comm.isEmpty ? "?" : t.kernelThread == true ? "[\(t.comm)]" : t.comm)
    if let p = t.problem { out += "  [\(p)]" }
    return out
  }
}
