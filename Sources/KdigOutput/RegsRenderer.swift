// `regs` and `ptregs` output: crash's register layout (three registers a line, "RIP: …"),
// then what each value means.

import KdigAnalyzers
import KdigBinary

public enum RegsRenderer {
  /// crash's exception-frame register block: "    RIP: ffffffff…  RSP: …  RFLAGS: …" and so on.
  public static func crashBlock(_ values: [String: UInt64], indent: String = "    ") -> String {
    let rows: [[(String, String)]] = [
      [("RIP", "ip"), ("RSP", "sp"), ("RFLAGS", "flags")],
      [("RAX", "ax"), ("RBX", "bx"), ("RCX", "cx")],
      [("RDX", "dx"), ("RSI", "si"), ("RDI", "di")],
      [("RBP", "bp"), ("R8", "r8"), ("R9", "r9")],
      [("R10", "r10"), ("R11", "r11"), ("R12", "r12")],
      [("R13", "r13"), ("R14", "r14"), ("R15", "r15")],
      [("ORIG_RAX", "orig_ax"), ("CS", "cs"), ("SS", "ss")],
    ]
    var out = ""
    for row in rows {
      let cells = row.map { label, key -> String in
        let width = key == "cs" || key == "ss" ? 4 : key == "flags" ? 8 : 16
        // crash right-aligns the labels of the register rows, not of the ORIG_RAX row.
        return "\(key == "cs" || key == "ss" || key == "orig_ax" ? label : leftPad(label, 3)): \(hexPadded(values[key] ?? 0, width: width))"
      }
      out += indent + cells.joined(separator: "  ") + "\n"
    }
    return out
  }

  public static func ptRegs(_ f: PtRegsFrame) -> String {
    var values: [String: UInt64] = [:]
    for field in f.fields { values[field.name] = field.value.value }
    var out = "struct pt_regs at \(hex0x(f.address.value)) (\(f.mode) mode\(f.plausible ? "" : ", NOT a plausible frame: selectors or RFLAGS bit 1"))\n"
    out += crashBlock(values)
    var l = LabeledLines()
    if let s = f.ripSymbol { l.add("RIP", s) }
    if let s = f.rspStack { l.add("RSP", s) }
    l.add("RFLAGS", f.flags)
    l.add("ORIG_RAX", f.origAX)
    l.add("CS", f.cs)
    l.add("SS", f.ss)
    return out + "\n" + l.render()
  }

  public static func cpus(_ regs: [CPURegisters]) -> String {
    regs.map { r in
      var out = "CPU \(r.cpu)  [\(r.source)\(r.pid.map { ", pid \($0)" } ?? "")]\n"
      let cells = r.general.map { "\(leftPad($0.name.uppercased(), 8)): \(hexPadded($0.value.value, width: 16))" }
      for i in stride(from: 0, to: cells.count, by: 3) { out += "  " + cells[i..<min(i + 3, cells.count)].joined(separator: "  ") + "\n" }
      var l = LabeledLines()
      if let s = r.ripSymbol { l.add("RIP", s) }
      if let s = r.rspStack { l.add("RSP", s) }
      l.add("RFLAGS", r.rflags)
      for s in r.segments {
        var v = s.selector
        if let b = s.base { v += " base \(hex0x(b.value))" }
        if let d = s.descriptor { v += "  \(d)" }
        l.add(s.name.uppercased(), v)
      }
      for c in r.control { l.add(c.name.uppercased(), hex0x(c.value.value) + (c.meaning.map { "  \($0)" } ?? "")) }
      for n in r.notes { l.add("NOTE", n) }
      return out + l.render()
    }.joined(separator: "\n")
  }
}
