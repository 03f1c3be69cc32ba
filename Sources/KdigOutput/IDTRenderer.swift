// `idt` output: the full gate table, crash's `irq -d` layout, and the verification report
// (summary line, findings by severity, every check with its evidence).

import KdigAnalyzers
import KdigBinary

/// Renders IDT tables and reports.
public enum IDTRenderer {
  /// Every field of every gate.
  public static func table(_ rows: [IDTGateRow]) -> String {
    var out = "VEC  HANDLER           SYMBOL                                SELECTOR  TYPE       DPL  IST       P  SET BY\n"
    for r in rows {
      var line = leftPad("\(r.vector)", 3) + "  " + hexPadded(r.handler.value, width: 16) + "  "
      line += rightPad(r.symbol ?? "?", 36) + "  " + rightPad(hex0x(UInt64(r.selector)), 8) + "  "
      line += rightPad(r.type, 9) + "  " + leftPad("\(r.dpl)", 3) + "  "
      line += rightPad(r.ist == 0 ? "-" : "\(r.ist) \(r.istStack ?? "")", 8) + "  " + (r.present ? "1" : "0") + "  "
      line += r.expectedSource ?? "-"
      if r.matchesKernel == false { line += "  DIFFERS (kernel: \(r.expectedSymbol ?? r.expectedHandler.map { hex0x($0.value) } ?? "?"))" }
      out += line + "\n"
    }
    return out
  }

  /// crash's `irq -d`: "[vec] symbol", the index right-aligned in 3 columns, offsets in decimal.
  public static func crash(_ rows: [IDTGateRow], symbolize: (UInt64) -> (String, UInt64)?) -> String {
    rows.map { r in
      let pad = r.vector < 10 ? "  " : r.vector < 100 ? " " : ""
      let name: String
      if let (s, off) = symbolize(r.handler.value) {
        name = off == 0 ? s : "\(s)+\(off)"
      } else {
        name = hexPadded(r.handler.value, width: 16)
      }
      return "\(pad)[\(r.vector)] \(name)"
    }.joined(separator: "\n") + "\n"
  }

  /// The verification report.
  public static func report(_ r: IDTReport) -> String {
    var out = r.summary + "\n"
    for severity in [Severity.error, .warning, .info] {
      let group = r.findings.filter { $0.severity == severity }
      guard !group.isEmpty else { continue }
      out += "\n\(severity.rawValue.uppercased())S:\n"
      for f in group { out += "  [\(f.code)] \(f.message)\n" }
    }
    out += "\nCHECKS:\n"
    for c in r.checks { out += "  \(rightPad(c.status.uppercased(), 7)) \(rightPad(c.name, 28)) \(c.detail)\n" }
    if !r.idtr.isEmpty {
      out += "\nIDTR:\n"
      for i in r.idtr { out += "  \(i.cpu.map { "CPU \($0)" } ?? "idt_descr"): \(hex(i.base.value))/\(hex(UInt64(i.limit))) (\(i.source))\n" }
    }
    return out
  }
}
