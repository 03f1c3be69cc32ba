// `vtop` in crash's layout (memory.c do_vtop, x86_64.c x86_64_kvtop/x86_64_translate_pte),
// followed by what crash does not show: the region, every flag named, the effective
// permissions across levels, and the linear-map arithmetic when it disagrees with the walk.

import KdigAnalyzers
import KdigBinary

/// Renders `VtopAnswer`s.
public enum VtopRenderer {
  public static func render(_ answers: [VtopAnswer]) -> String {
    answers.map(render).joined(separator: "\n")
  }

  /// crash's mkstring(CENTER|LJUST) (headers) or CENTER|RJUST (values, `rightBias`): an odd
  /// leftover space goes right, or left with RJUST (tools.c mkstring).
  static func center(_ s: String, _ width: Int, rightBias: Bool = false) -> String {
    guard s.count < width else { return s }
    let extra = width - s.count
    let left = extra / 2 + (rightBias ? extra % 2 : 0)
    return String(repeating: " ", count: left) + s + String(repeating: " ", count: extra - left)
  }

  public static func render(_ a: VtopAnswer) -> String {
    var out = rightPad("VIRTUAL", 16) + "  " + rightPad("PHYSICAL", 16) + "\n"
    let physical = a.physical.map { hex($0.value) } ?? (a.region == "non-canonical" ? "(not a virtual address)" : "(not mapped)")
    out += rightPad(hex(a.virtual.value), 16) + "  " + rightPad(physical, 16) + "\n\n"
    if let pgd = a.space.pgdVirtual {
      out += "PGD DIRECTORY: \(hex(pgd.value))\n"
    } else {
      out += "PGD DIRECTORY: (physical) \(hex(a.space.root.value))\n"
    }
    for (i, s) in a.steps.enumerated() {
      if i == 0 {
        out += "PAGE DIRECTORY: \(hex(s.entry.value))\n"
      } else {
        out += "   \(s.level): \(hex(s.entryAddress.value)) => \(hex(s.entry.value))\n"
      }
    }
    if let pa = a.physical, let size = a.pageSize {
      let base = pa.value & ~(size - 1)
      let suffix = size == 1 << 30 ? "  (1GB)" : size == 1 << 21 ? "  (2MB)" : ""
      out += "  PAGE: \(hex(base))\(suffix)\n\n"
      if let leaf = a.steps.last {
        let pte = hex(leaf.entry.value)
        let phys = hex(base)
        let w1 = max(pte.count, 3)
        let w2 = max(phys.count, 8)
        out += center("PTE", w1) + "  " + center("PHYSICAL", w2) + "  FLAGS\n"
        out += center(pte, w1, rightBias: true) + "  " + center(phys, w2, rightBias: true)
        out += "  (\(a.crashFlags.joined(separator: "|")))\n"
      }
      if let p = a.page {
        out += "\n      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS\n"
        out += hexPadded(p.address.value, width: 16) + " " + rightPad(hex(p.physical.value), 8) + " "
        out += leftPad(hex(p.mapping.value), 16) + " " + leftPad(hex(p.index.value), 8) + " " + leftPad("\(p.count)", 2)
        out += " " + hex(p.flags.value) + (p.flagNames.isEmpty ? "" : " " + p.flagNames.joined(separator: ","))
        out += "\n"
      }
    } else if let np = a.nonPresent, let leaf = a.steps.last {
      out += "\n"
      if let type = np.swapType, let offset = np.swapOffset {
        out += center("PTE", 16) + "  SWAP TYPE  OFFSET\n"
        out += rightPad(hex(leaf.entry.value), 16) + "  " + leftPad("\(type)", 9) + "  \(hex(offset.value))  (\(np.kind))\n"
      } else if let frame = np.frame {
        out += center("PTE", 16) + "  PHYSICAL  FLAGS\n"
        out += rightPad(hex(leaf.entry.value), 16) + "  " + rightPad(hex(frame.value), 8) + "  (\(a.crashFlags.joined(separator: "|")))\n"
      }
    }
    out += "\n" + extras(a)
    return out
  }

  /// kdig's additions below crash's block.
  static func extras(_ a: VtopAnswer) -> String {
    var lines = LabeledLines()
    lines.add("REGION", a.region)
    lines.add("ADDRESS SPACE", a.space.description + (a.space.userPGD ? "" : ""))
    if let cr3 = a.space.cr3 {
      lines.add(
        "CR3", "table \(hex(cr3.table.value)), PCID \(cr3.pcid)\(cr3.ptiUser ? ", PTI user PGD (bit 12)" : "")\(cr3.noFlush ? ", NOFLUSH (bit 63)" : "")")
    }
    if let level = a.leafLevel, let size = a.pageSize {
      lines.add("LEAF", "\(level), \(humanSize(size)) page")
      lines.add("FLAGS", a.flags.joined(separator: "|"))
    }
    if let p = a.permissions { lines.add("EFFECTIVE", p.summary + " (RW and USER ANDed, NX ORed over all levels)") }
    if let lin = a.linearPhysical, let agrees = a.linearAgrees, !agrees {
      lines.add("LINEAR", "\(hex(lin.value)) DISAGREES with the page tables (crash would print this)")
    }
    if let np = a.nonPresent { lines.add("NOT PRESENT", np.kind) }
    if let f = a.frameInDump, f != "in dump" { lines.add("FRAME", "not in the dump: \(f)") }
    if let e = a.error { lines.add("ERROR", e) }
    return lines.render()
  }
}
