// `kdig info` as text: crash's `sys` block, then the `mach` / `help -m` values, each followed
// by how kdig found it, then the per-CPU registers the dump holds.

import Foundation
import KdigAnalyzers
import KdigBinary

/// Renders `MachineInfo` for a terminal.
public enum InfoRenderer {
  /// How the vmlinux matches the dump, and where it came from when kdig fetched it.
  static func kernelHow(_ m: MachineInfo) -> String? {
    guard m.vmlinuxFromDebuginfod else { return m.vmlinuxMatch }
    return (["fetched from debuginfod by build-id"] + [m.vmlinuxMatch].compactMap { $0 }).joined(separator: "; ")
  }

  public static func render(_ m: MachineInfo) -> String {
    var sys = LabeledLines()
    sys.add("KERNEL", m.vmlinux ?? "(no vmlinux)", how: kernelHow(m))
    if let s = m.symbols { sys.add("SYMBOLS", s) }
    if let t = m.types { sys.add("TYPES", t) }
    sys.add("DUMPFILE", m.dump.path)
    sys.add("FORMAT", formatLine(m.dump))
    sys.add("DUMP SIZE", "\(humanSize(m.dump.fileSize)) (\(m.dump.fileSize) bytes)")
    if let mem = m.kernelMemory { sys.add("MEMORY", humanSize(mem.value), how: mem.how) }
    sys.add(
      "DUMPED MEMORY", humanSize(m.dump.memorySize),
      how: m.dump.dumpedPages.map { "RAM the dump describes; \($0) pages stored" } ?? "RAM the dump describes")
    sys.add("CPUS", cpuLine(m))
    if let t = m.crashTime {
      let date = Date(timeIntervalSince1970: TimeInterval(t.value))
      sys.add("DATE", "\(date) (\(t.value))", how: t.how)
    }
    if let r = m.release { sys.add("RELEASE", r.value, how: r.how) }
    if let v = m.version { sys.add("VERSION", v.value) }
    if let v = m.machine { sys.add("MACHINE", v.value) }
    if let v = m.nodename { sys.add("NODENAME", v.value) }
    if let b = m.buildID { sys.add("BUILD-ID", b.value, how: b.how) }

    var mach = LabeledLines()
    mach.add("PAGE SIZE", "\(m.pageSize.value)", how: m.pageSize.how)
    mach.add("KASLR OFFSET", hex(m.kaslrOffset.value.value), how: m.kaslrOffset.how)
    mach.add("PHYS_BASE", hex(m.physBase.value.value), how: m.physBase.how)
    mach.add("KERNEL VIRTUAL BASE", hex(m.pageOffset.value.value), how: m.pageOffset.how)
    mach.add("KERNEL VMALLOC BASE", hex(m.vmallocBase.value.value), how: m.vmallocBase.how)
    mach.add("KERNEL VMEMMAP BASE", hex(m.vmemmapBase.value.value), how: m.vmemmapBase.how)
    mach.add("KERNEL START MAP", hex(m.kernelStartMap.value))
    mach.add("CPU ENTRY AREA", hex(m.cpuEntryArea.value))
    mach.add("PAGING LEVELS", "\(m.pagingLevels.value)", how: m.pagingLevels.how)
    mach.add("KERNEL PGD (PHYS)", hex(m.kernelPGD.value.value), how: m.kernelPGD.how)
    mach.add("SME MASK", hex(m.smeMask.value.value), how: m.smeMask.how)
    if let p = m.pti { mach.add("PTI", p.value ? "on" : "off", how: p.how) } else { mach.add("PTI", "unknown") }

    var out = sys.render() + "\n" + mach.render()
    if !m.cpus.isEmpty { out += "\n" + cpuTable(m.cpus) }
    return out
  }

  static func formatLine(_ d: DumpFileInfo) -> String {
    var parts = [d.format, d.producer]
    if d.flattened { parts.append("flattened") }
    parts.append(d.compression == "none" ? "uncompressed" : d.compression)
    if let v = d.headerVersion { parts.append("header v\(v)") }
    if let l = d.dumpLevel { parts.append("dump level \(l)") }
    if d.incomplete { parts.append("INCOMPLETE") }
    return parts.joined(separator: ", ")
  }

  static func cpuLine(_ m: MachineInfo) -> String {
    var parts: [String] = []
    if let o = m.cpusOnline { parts.append("\(o.value) online") }
    if let p = m.cpusPossible { parts.append("\(p.value) possible") }
    parts.append("\(m.cpusInDump) in dump")
    return parts.joined(separator: ", ")
  }

  static func cpuTable(_ cpus: [CPUInfo]) -> String {
    let hasCR = cpus.contains { $0.cr3 != nil }
    var header = "CPU    PID  RIP               RSP             "
    if hasCR { header += "  CR3               CR4       IDTR                  GDTR" }
    var out = header + "\n"
    for c in cpus {
      var line = rightPad("\(c.cpu)", 4) + leftPad(c.pid.map { "\($0)" } ?? "-", 5) + "  "
      line += rightPad(c.rip.map { hexPadded($0.value, width: 16) } ?? "-", 18)
      line += rightPad(c.rsp.map { hexPadded($0.value, width: 16) } ?? "-", 16)
      if hasCR {
        line += "  " + rightPad(c.cr3.map { hexPadded($0.value, width: 16) } ?? "-", 18)
        line += rightPad(c.cr4.map { hex($0.value) } ?? "-", 10)
        line += rightPad(c.idtBase.map { "\(hex($0.value))/\(hex(UInt64(c.idtLimit ?? 0)))" } ?? "-", 22)
        line += c.gdtBase.map { "\(hex($0.value))/\(hex(UInt64(c.gdtLimit ?? 0)))" } ?? "-"
      }
      out += line + "\n"
    }
    return out
  }
}
