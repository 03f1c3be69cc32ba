// `kdig idt` on every real sample: clean dumps verify (exit 0, only the known warning, its
// vectors exactly those drgn sees in early_idt_handler_array), and every decoded gate equals
// drgn's reading of idt_table; on the 6.1 samples `--crash` equals crash's `irq -d` line for line.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct IDTOracleTests {
  static func idtOracle(_ s: Sample) -> [String: Any]? { s.drgnOracle("idt.drgn") }

  @Test(arguments: Samples.forTests)
  func cleanDumpVerifies(sample: Sample) throws {
    let s = try sample.require()
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let report = try IDTVerifier(kernel: session.kernel).verify()
    #expect(report.errors == 0, "\(s.name): \(report.findings.filter { $0.severity == .error }.map(\.message))")
    #expect(report.findings.map(\.code) == ["idt.early-handler"], "\(s.name): \(report.findings.map(\.code))")
    #expect(report.gates.count == 256)
    #expect(report.checks.allSatisfy { $0.status != "failed" })
    let twin = try Samples.named(s.same_memory_as ?? s.name)
    if let oracle = Self.idtOracle(s) ?? Self.idtOracle(twin) {
      let early = (oracle["early_idt_handler_vectors"] as? [Int]) ?? []
      let mine = report.findings.first?.evidence["vectors"]?.split(separator: ",").compactMap { Int($0) } ?? []
      #expect(mine == early, "\(s.name): early vectors kdig \(mine) drgn \(early)")
    }
  }

  @Test(arguments: Samples.forTests.filter { IDTOracleTests.idtOracle($0) != nil })
  func gatesEqualDrgn(sample: Sample) throws {
    let s = try sample.require()
    let oracle = try #require(Self.idtOracle(s))
    let gates = try #require(oracle["gates"] as? [[String: Any]])
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let views = try session.kernel.idtViews()
    let rows = decodeIDT(try #require(views.kernelBytes), kernel: session.kernel, model: nil)
    #expect(rows.count == 256 && gates.count == 256)
    for (row, g) in zip(rows, gates) {
      #expect(row.raw == g["raw"] as? String, "vector \(row.vector) bytes")
      #expect(row.handler.value == hexString(g["handler"]), "vector \(row.vector) handler")
      #expect(row.selector == UInt16(g["segment"] as? Int ?? -1), "vector \(row.vector) selector")
      #expect(row.ist == g["ist"] as? Int, "vector \(row.vector) ist")
      #expect(row.dpl == g["dpl"] as? Int, "vector \(row.vector) dpl")
      #expect(row.present == ((g["p"] as? Int) == 1), "vector \(row.vector) p")
      #expect(row.type == "interrupt" ? g["type"] as? Int == 14 : true, "vector \(row.vector) type")
      // drgn names the symbol containing the handler; kdig the same symbol at the same start.
      if let name = g["symbol"] as? String, let offset = g["symbol_offset"] as? Int {
        let expected = offset == 0 ? name : "\(name)+0x\(String(offset, radix: 16))"
        #expect(row.symbol == expected || row.symbol?.hasSuffix(offset == 0 ? "" : "+0x\(String(offset, radix: 16))") == true,
          "vector \(row.vector): kdig \(row.symbol ?? "-") drgn \(expected)")
      }
    }
  }

  @Test(arguments: CrashAgreementTests.crashSamples)
  func crashIrqDLineForLine(sample: Sample) throws {
    let s = try sample.require()
    let crash = try #require(CrashTranscript(s.crashOutput))
    let theirs = crash.lines("irq -d")
    #expect(theirs.count == 256, "\(s.name): crash printed \(theirs.count) lines")
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let k = session.kernel
    let rows = decodeIDT(try #require(try k.idtViews().kernelBytes), kernel: k, model: nil)
    let mine = IDTRenderer.crash(rows, symbolize: { a in k.symbolize(a).map { ($0.symbol.name, $0.offset) } })
      .split(separator: "\n").map(String.init)
    #expect(mine == theirs, "\(s.name): first difference at \(zip(mine, theirs).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "length")")
  }
}
