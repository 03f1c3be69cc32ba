// `ptdump` in the kernel's format ("0x%016lx-0x%016lx   %9lu%c " + printk_prot + level),
// markers as "---[ name ]---", then kdig's columns: physical start, region or symbol, W+X.

import KdigAnalyzers
import KdigBinary

/// Renders `PtdumpReport`.
public enum PtdumpRenderer {
  /// note_page(): the size in the largest unit that divides it (units "BKMGTPE").
  static func size(_ start: UInt64, _ end: UInt64) -> String {
    var delta = end &- start
    let units: [Character] = ["B", "K", "M", "G", "T", "P", "E"]
    var u = 0
    while delta & 1023 == 0 && u + 1 < units.count && delta != 0 {
      delta >>= 10
      u += 1
    }
    return leftPad("\(delta)", 9) + String(units[u])
  }

  public static func render(_ r: PtdumpReport) -> String {
    var out = ""
    var markers = r.markers[...]
    for (i, range) in r.ranges.enumerated() {
      while let m = markers.first, m.beforeRange == i {
        out += "---[ \(m.name) ]---\n"
        markers = markers.dropFirst()
      }
      out += "0x\(hexPadded(range.start.value, width: 16))-0x\(hexPadded(range.end.value, width: 16))   "
      out += size(range.start.value, range.end.value) + " " + range.prot + range.level
      var extra: [String] = []
      if let p = range.physical {
        extra.append("phys 0x\(hex(p.value))" + (range.physicallyContiguous == false ? " (not contiguous)" : ""))
      }
      if range.present { extra.append(range.symbol ?? range.region) }
      if range.writableExecutable { extra.append("W+X") }
      if let u = range.unreadable { extra.append("UNREADABLE: \(u)") }
      if let n = range.notWalked { extra.append("NOT WALKED: \(n)") }
      if !extra.isEmpty { out += "  " + extra.joined(separator: "  ") }
      out += "\n"
    }
    out += "\n\(r.ranges.count) ranges in \(r.space.description); "
    out += r.writableExecutableRanges == 0 ? "no W+X mappings\n" : "\(r.writableExecutableRanges) W+X ranges\n"
    for note in r.notes { out += "NOTE: \(note)\n" }
    return out
  }
}
