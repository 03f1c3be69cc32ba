// `rd` output in crash's layout: "address:  word word   ascii", two 64-bit words a line.

import KdigAnalyzers
import KdigBinary

/// Renders `MemoryWords` like crash `rd -64`.
public enum MemoryRenderer {
  public static func render(_ m: MemoryWords) -> String {
    var out = ""
    let perLine = 2
    var i = 0
    while i < m.words.count {
      let address = m.address.value &+ UInt64(i * 8)
      // crash: mkstring(VADDR_PRLEN, RJUST|LONG_HEX): right-aligned, no leading zeros.
      var line = leftPad(hex(address), 16) + ":  "
      let n = min(perLine, m.words.count - i)
      line += (0..<n).map { hexPadded(m.words[i + $0].value, width: 16) }.joined(separator: " ")
      if n < perLine { line += String(repeating: " ", count: 17 * (perLine - n)) }
      line += "   "
      for b in m.bytes[(i * 8)..<((i + n) * 8)] {
        line += (b >= 0x20 && b < 0x7f) ? String(UnicodeScalar(b)) : "."
      }
      out += line + "\n"
      i += n
    }
    return out
  }
}

/// Renders `sym` answers like crash: "address (type) name".
public enum SymbolRenderer {
  public static func render(_ answers: [SymbolAnswer]) -> String {
    answers.map { "\(hexPadded($0.address.value, width: 16)) (\($0.type)) \($0.display)" }.joined(separator: "\n") + "\n"
  }
}
