// `p` against drgn's values on every sample drgn opens.

import Kdig
import KdigTestSupport
import Testing

@Suite struct DrgnPrintTests {
  @Test(arguments: DrgnAgreementTests.drgnSamples)
  func printMatchesDrgn(sample: Sample) throws {
    let s = try sample.require()
    let drgn = try #require(s.drgn)
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let query = PrintQuery(kernel: session.kernel)
    for (expr, key) in [("pgdir_shift", "pgdir_shift"), ("init_mm.pgd", "init_mm.pgd"), ("page_offset_base", "page_offset_base"), ("nr_cpu_ids", "nr_cpu_ids")] {
      let mine = try query.evaluate(expr)
      #expect(mine.integer?.value == drgn.hexValue("values", key), "p \(expr)")
    }
    let idt = try query.evaluate("&idt_table")
    #expect(idt.integer?.value == hexString((drgn.json["addresses"] as? [String: Any])?["idt_table"]))
    #expect(idt.type == "gate_desc (*)[256]")
  }
}
