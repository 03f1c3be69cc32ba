// Page tables written as text (the libaddrxlat tests' ".data" format): `@0xADDR` moves the
// write position, each hex word is one little-endian u64, `WORD*N+STRIDE` repeats a word N
// times adding STRIDE each time, `exclude 0xPFN` marks a frame as filtered, `#` starts a
// comment. Every entry in the fixtures carries a comment with its walk path.

import KdigMemory

/// Parses a page-table text fixture into physical memory.
public enum PageTableSpec {
  public struct SpecError: Error, CustomStringConvertible {
    public var line: Int
    public var text: String
    public var description: String { "page-table spec line \(line): cannot parse \"\(text)\"" }
  }

  public static func memory(_ text: String) throws -> SparsePhysicalMemory {
    let memory = SparsePhysicalMemory()
    var position: UInt64 = 0
    for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      var i = 0
      while i < words.count {
        let w = String(words[i])
        if w.hasPrefix("@") {
          guard let a = hexValue(String(w.dropFirst())) else { throw SpecError(line: n + 1, text: w) }
          position = a
        } else if w == "exclude" {
          i += 1
          guard i < words.count, let pfn = hexValue(String(words[i])) else { throw SpecError(line: n + 1, text: w) }
          memory.excludedFrames.insert(pfn)
        } else {
          let (value, count, stride) = try repetition(w, line: n + 1)
          for k in 0..<count {
            memory.write(u64: value &+ UInt64(k) &* stride, at: position)
            position += 8
          }
        }
        i += 1
      }
    }
    return memory
  }

  static func repetition(_ w: String, line: Int) throws -> (UInt64, Int, UInt64) {
    let parts = w.split(separator: "*")
    guard let value = hexValue(String(parts[0])) else { throw SpecError(line: line, text: w) }
    guard parts.count == 2 else { return (value, 1, 0) }
    let rep = parts[1].split(separator: "+")
    guard let count = Int(rep[0]) else { throw SpecError(line: line, text: w) }
    let stride = rep.count == 2 ? hexValue(String(rep[1])) ?? 0 : 0
    return (value, count, stride)
  }

  static func hexValue(_ s: String) -> UInt64? {
    UInt64(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: 16)
  }
}
