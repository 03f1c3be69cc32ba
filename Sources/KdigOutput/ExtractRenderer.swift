// `kdig extract`'s summary: what was written, how big, and which analysis needed which pages.

import KdigBinary
import KdigDump

public enum ExtractRenderer {
  public static func render(_ r: ExtractReport) -> String {
    var t = LabeledLines()
    t.add("EXTRACT", r.output)
    t.add("FROM", r.source)
    t.add("SIZE", "\(humanSize(r.fileSize)) (\(r.fileSize) bytes; the original: \(humanSize(r.sourceSize)))")
    t.add("PAGES", "\(r.pages) of max_mapnr \(r.maxPFN) kept (\(r.zeroPages) zero, \(r.compressedPages) \(r.compression)); every other RAM page reads as excluded")
    t.add("PASSES", r.passes.joined(separator: "; "))
    t.add("NOTES", r.notes.joined(separator: ", "))
    for p in r.parts { t.add("  \(p.name)", "\(p.pages) pages") }
    t.add("TIME", String(format: "%.2f s", r.elapsed))
    return t.render()
  }
}
