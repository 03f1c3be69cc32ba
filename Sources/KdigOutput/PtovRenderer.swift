// `ptov` and `pte` in crash's layouts, with kdig's decoding below.

import KdigAnalyzers
import KdigBinary

/// Renders `ptov` answers like crash.
public enum PtovRenderer {
  public static func render(_ answers: [PtovAnswer]) -> String {
    var out = ""
    for a in answers {
      if let offset = a.perCPUOffset, let cpus = a.perCPU {
        out += "PER-CPU OFFSET: \(hex(offset.value))\n  CPU    VIRTUAL\n"
        for c in cpus { out += "  [\(c.cpu)]  \(hex(c.virtual.value))\n" }
      } else if let va = a.virtual, let pa = a.physical {
        out += rightPad("VIRTUAL", 16) + "  PHYSICAL\n" + rightPad(hex(va.value), 16) + "  \(hex(pa.value))\n"
        if let note = a.note { out += "  (\(note))\n" }
      }
      out += "\n"
    }
    return String(out.dropLast())
  }
}

/// Renders a decoded entry like crash's `pte`, then every flag.
public enum PteRenderer {
  public static func render(_ a: PteAnswer) -> String {
    let pte = hex(a.entry.value)
    let phys = a.physical.map { hex($0.value) } ?? "-"
    let w1 = max(pte.count, 3)
    let w2 = max(phys.count, 8)
    var out = VtopRenderer.center("PTE", w1) + "  " + VtopRenderer.center("PHYSICAL", w2) + "  FLAGS\n"
    out += VtopRenderer.center(pte, w1, rightBias: true) + "  " + VtopRenderer.center(phys, w2, rightBias: true)
    out += "  (\(a.crashFlags.isEmpty ? "no mapping" : a.crashFlags.joined(separator: "|")))\n\n"
    var lines = LabeledLines()
    lines.add("LEVEL", a.level)
    lines.add("MEANING", a.meaning + (a.pageSize.map { ", \(humanSize($0)) page" } ?? ""))
    if !a.flags.isEmpty { lines.add("FLAGS", a.flags.joined(separator: "|")) }
    if a.protectionKey != 0 { lines.add("PKEY", "\(a.protectionKey)") }
    if let t = a.swapType, let o = a.swapOffset { lines.add("SWAP", "type \(t), offset 0x\(hex(o.value))") }
    if a.meaning == "protnone", let p = a.physical { lines.add("FRAME", "0x\(hex(p.value)) (PFN un-inverted, L1TF)") }
    return out + lines.render()
  }
}
