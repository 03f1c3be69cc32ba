// `ps`: the task list as crash's ps columns that matter for address spaces.

import KdigAnalyzers
import KdigBinary

/// Renders tasks.
public enum TaskRenderer {
  public static func render(_ tasks: [TaskInfo]) -> String {
    var out = "    PID        TASK               MM                PGD            COMM\n"
    for t in tasks {
      out += leftPad("\(t.pid)", 7) + "  " + hexPadded(t.task.value, width: 16) + "  "
      out += rightPad(t.mm.value == 0 ? "-" : hexPadded(t.mm.value, width: 16), 16) + "  "
      out += rightPad(t.pgd.map { hexPadded($0.value, width: 16) } ?? "-", 16) + "  \(t.comm)"
      if let p = t.problem { out += "  [\(p)]" }
      out += "\n"
    }
    return out
  }
}
