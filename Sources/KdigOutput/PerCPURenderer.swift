// `cea`, `gdt`, `tss` output: per CPU, the page map of the cpu_entry_area, the decoded GDT
// and TSS; with --verify the report (summary, findings by severity, every check).

import KdigAnalyzers
import KdigBinary

/// Renders per-CPU entry state.
public enum PerCPURenderer {
  /// Every page of every CPU's area: address, member, mapping, frame, backing object.
  public static func cea(_ r: PerCPUReport) -> String {
    var out = "CPU_ENTRY_AREA_RO_IDT  \(hex(CEALayout.readOnlyIDT))  (idt_table, read-only)\n"
    out += "sizeof(struct cpu_entry_area) = 0x\(hex(UInt64(r.layout.size))) (\(r.layout.size / 4096) pages)\n"
    for s in r.cpus {
      let a = s.area
      out += "\nCPU \(a.cpu)  CEA \(hex(a.base.value))  slot \(a.slot) [\(a.slotSource)]\n"
      out += "  GDT \(hex(a.gdt.value))  TSS \(hex(a.tss.value))  entry stack top \(hex(a.entryStackTop.value))\n"
      let tops = a.exceptionStackTops.sorted { (r.layout.exceptionStackOrder[$0.key] ?? 9) < (r.layout.exceptionStackOrder[$1.key] ?? 9) }
      out += "  IST tops: " + tops.map { "\($0.key) \(hex($0.value.value))" }.joined(separator: "  ") + "\n"
      out += "  VIRTUAL           FIELD                          LEVEL  FLAGS                       PHYSICAL          BACKING\n"
      for p in a.pages {
        let field = p.offsetInField == 0 ? p.field : "\(p.field)+\(hex0x(UInt64(p.offsetInField)))"
        var line = "  " + hexPadded(p.virtual.value, width: 16) + "  " + rightPad(field, 30) + " "
        line += rightPad(p.mapped ? (p.level ?? "") : "-", 6) + " "
        let flags = p.mapped ? (p.effective ?? "") + (p.global ? " G" : "") : (p.note ?? "not mapped")
        line += rightPad(flags, 27) + " "
        line += rightPad(p.physical.map { hexPadded($0.value, width: 16) } ?? "-", 17) + " "
        if let b = p.backing {
          let same = p.physical.flatMap { pa in p.backingPhysical.map { pa.value & ~0xfff == $0.value & ~0xfff } }
          line += b + (same == true ? " =" : same == false ? " DIFFERS \(hex0x(p.backingPhysical?.value ?? 0))" : " (?)")
        }
        out += line + "\n"
      }
    }
    return out
  }

  /// Every GDT slot of every CPU.
  public static func gdt(_ r: PerCPUReport) -> String {
    var out = ""
    for s in r.cpus {
      guard let g = s.gdt else {
        out += "CPU \(s.area.cpu): GDT unreadable: \(s.errors.joined(separator: "; "))\n\n"
        continue
      }
      out += "CPU \(g.cpu)  GDT \(hex(g.alias.value)) (cpu_entry_area, RO)  gdt_page \(g.backing.map { hex($0.value) } ?? "?")"
      out += g.viewsAgree == true ? "  views agree\n" : g.viewsAgree == false ? "  VIEWS DIFFER\n" : "\n"
      if let base = g.gdtrBase { out += "  GDTR \(hex(base.value))/\(hex(UInt64(g.gdtrLimit ?? 0)))  TR \(g.trSelector ?? "?")\n" }
      out += "  IDX SEL   NAME                         DESCRIPTOR        KIND        BASE              LIMIT     DPL P G D L  TYPE\n"
      for e in g.entries {
        var line = "  " + leftPad("\(e.index)", 3) + " " + rightPad(e.selector, 5) + " " + rightPad(e.name ?? "-", 28) + " "
        line += hexPadded(e.raw.value, width: 16) + "  " + rightPad(e.kind, 11) + " "
        if e.kind == "null" || e.kind == "upper half" {
          line += e.type ?? ""
        } else {
          line += hexPadded(e.base.value, width: 16) + "  " + rightPad(hex0x(e.limit.value), 9) + " " + leftPad("\(e.dpl)", 3) + " "
          line += [e.present, e.granularity4K, e.defaultBig, e.long].map { $0 ? "1" : "0" }.joined(separator: " ") + "  " + (e.type ?? "")
        }
        if let i = e.initial, i.value | (1 << 40) != e.raw.value | (1 << 40), e.index < 8 { line += "  (vmlinux: \(hex(i.value)))" }
        out += line + "\n"
      }
      out += "\n"
    }
    return out + checkLines(r, prefix: "gdt.")
  }

  /// Every CPU's x86_hw_tss.
  public static func tss(_ r: PerCPUReport) -> String {
    var out = ""
    for s in r.cpus {
      guard let t = s.tss else {
        out += "CPU \(s.area.cpu): TSS unreadable: \(s.errors.joined(separator: "; "))\n\n"
        continue
      }
      out += "CPU \(t.cpu)  TSS \(hex(t.alias.value)) (cpu_entry_area, RO)  cpu_tss_rw \(t.backing.map { hex($0.value) } ?? "?")"
      out += t.viewsAgree == true ? "  views agree\n" : t.viewsAgree == false ? "  VIEWS DIFFER\n" : "\n"
      var lines = LabeledLines()
      lines.add("sp0", hex0x(t.sp0.value), how: t.sp0 == t.entryStackTop ? "entry stack top" : "entry stack top is \(hex0x(t.entryStackTop.value))")
      lines.add("sp1", hex0x(t.sp1.value), how: "unused")
      lines.add("sp2", hex0x(t.sp2.value), how: "entry_SYSCALL_64 user RSP scratch")
      for slot in t.ist {
        let how: String
        if let stack = slot.stack, let want = slot.expected {
          how = slot.value == want ? "\(stack) stack top" : "\(stack) stack top is \(hex0x(want.value))"
        } else {
          how = "unused"
        }
        lines.add("ist[\(slot.ist - 1)]", hex0x(slot.value.value), how: how)
      }
      lines.add("io_bitmap_base", hex0x(UInt64(t.ioBitmapBase)), how: t.ioBitmap)
      if let tr = t.trBase { lines.add("TR base", hex0x(tr.value), how: "CPU state note, limit \(hex0x(UInt64(t.trLimit ?? 0)))") }
      out += lines.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n\n"
    }
    return out + checkLines(r, prefix: "tss.")
  }

  /// The verification report (`cea --verify`).
  public static func report(_ r: PerCPUReport) -> String {
    var out = r.summary + "\n"
    for severity in [Severity.error, .warning, .info] {
      let group = r.findings.filter { $0.severity == severity }
      guard !group.isEmpty else { continue }
      out += "\n\(severity.rawValue.uppercased())S:\n"
      for f in group { out += "  [\(f.code)] \(f.message)\n" }
    }
    if !r.unreadable.isEmpty {
      out += "\nNOT IN THE DUMP:\n" + r.unreadable.map { "  \($0)\n" }.joined()
    }
    out += "\nCHECKS:\n"
    for c in r.checks { out += "  \(rightPad(c.status.uppercased(), 7)) \(rightPad(c.name, 34)) \(c.detail)\n" }
    return out
  }

  /// The summary, the findings and the checks whose names start with `prefix`.
  static func checkLines(_ r: PerCPUReport, prefix: String) -> String {
    let findings = r.findings.filter { $0.code.hasPrefix(prefix) }
    var out = findings.isEmpty ? "CHECKS: all \(prefix.dropLast().uppercased()) checks passed\n" : "FINDINGS:\n"
    for f in findings { out += "  [\(f.code)] \(f.message)\n" }
    for c in r.checks where c.name.hasPrefix(prefix) && c.status != "passed" {
      out += "  \(rightPad(c.status.uppercased(), 7)) \(rightPad(c.name, 30)) \(c.detail)\n"
    }
    return out
  }
}
