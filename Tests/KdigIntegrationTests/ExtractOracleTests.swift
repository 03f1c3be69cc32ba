// drgn 0.3.0 and crash 8.0.2 on `kdig extract` files: drgn opens each extract and
// translates every address of the original's vtop oracle (12,000+ kernel and PTI-user
// addresses) to the same physical address or the same fault; crash opens the 6.1 extracts
// with their vmlinux and prints for the oracle commands (crash.cmds, bt_crash.cmds) what it
// printed for the original, but for the lines naming the file, crash's own heap addresses
// and the one physical page the extract leaves out on purpose (`rd -p 0x1000`).

import Foundation
import KdigTestSupport
import Testing

@Suite struct ExtractOracleTests {
  @Test(arguments: ExtractSamples.names)
  func drgnTranslatesTheSame(_ name: String) throws {
    let sample = try Samples.named(name).require()
    guard let oraclePath = sample.oracles?["vtop.drgn"] else {
      Issue.record("\(name): no vtop.drgn oracle in the manifest: rebuild the samples")
      return
    }
    let oracle = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: oraclePath))) as? [String: Any] ?? [:]
    let extract = try Extracts.of(sample)
    let dir = try TemporaryDirectory("extract-drgn")
    let out = "\(dir.path)/out.json"
    let run = try BoundedProcess.run(
      try TestTools.python(), [Repository.path("Samples/oracles/extract_drgn.py"), extract.path, sample.vmlinux, oraclePath, out, sample.file],
      timeout: 300)
    #expect(run.status == 0, "\(run)")
    let answer = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any] ?? [:]
    #expect(answer["open_error"] is NSNull, "\(answer["open_error"] ?? "")")
    #expect(answer["release"] as? String == sample.kernel_release)
    let expected = (oracle["addresses"] as? [[Any]] ?? []).map { Self.key($0[0], $0[2], $0[3]) }
    let got = (answer["addresses"] as? [[Any]] ?? []).map { Self.key($0[0], $0[1], $0[2]) }
    #expect(expected.count >= 10_000)
    #expect(got == expected, "\(name): \(zip(expected, got).filter { $0 != $1 }.prefix(5))")
    let pti = (oracle["pti_user"] as? [String: Any])?["addresses"] as? [[Any]] ?? []
    let gotPTI = (answer["pti_user"] as? [[Any]] ?? []).map { Self.key($0[0], $0[1], $0[2]) }
    #expect(gotPTI == pti.map { Self.key($0[0], $0[2], $0[3]) }, "\(name) PTI user")
    // The end of the kernel log, as drgn reads it from the extract and from the original.
    let tail = answer["dmesg_tail"] as? [String] ?? []
    let originalTail = answer["original_dmesg_tail"] as? [String] ?? []
    #expect(tail.count == 40 && tail == originalTail, "\(name): \(tail.suffix(3)) vs \(originalTail.suffix(3))")
    #expect(tail.contains { $0.contains("Kernel panic") || $0.contains("Call Trace") }, "\(name): \(tail.suffix(3))")
  }

  static func key(_ a: Any, _ pa: Any, _ error: Any) -> String { "\(a) \(pa is NSNull ? "-" : "\(pa)") \(error is NSNull ? "" : "\(error)")" }

  static let crashSamples = ["6.1-qemu-elf", "6.1-kdump-lzo-d31", "6.1-sysrq-irq-qemu-elf"]

  @Test(arguments: crashSamples)
  func crashPrintsTheSame(_ name: String) throws {
    let sample = try Samples.named(name).require()
    let extract = try Extracts.of(sample)
    let dir = try TemporaryDirectory("extract-crash")
    for (script, oracle) in [("crash_oracle.sh", "crash"), ("bt_crash.sh", "bt.crash")] {
      guard let path = sample.oracles?[oracle] else {
        Issue.record("\(name): no \(oracle) oracle in the manifest")
        continue
      }
      let out = "\(dir.path)/\(oracle).txt"
      let run = try BoundedProcess.run(
        "/bin/bash", [Repository.path("Samples/oracles/\(script)"), extract.path, sample.vmlinux, out, "extract"],
        timeout: 600)
      #expect(run.status == 0, "\(run)")
      let original = Self.comparable(try String(contentsOfFile: path, encoding: .utf8))
      let extracted = Self.comparable(try String(contentsOfFile: out, encoding: .utf8))
      #expect(original.count > 100)
      let differing = zip(original, extracted).filter { $0 != $1 }
      #expect(original == extracted, "\(name) \(oracle): \(original.count) vs \(extracted.count) lines; first differences: \(differing.prefix(5))")
    }
  }

  /// The oracle text without what names the file or varies per crash run: the "# " lines of
  /// the oracle scripts, DUMPFILE, `help -m`/`help -t`'s pointers into crash's own heap
  /// (6-12 hex digits below 0x8000_0000_0000), and `rd -p 0x1000`'s lines (physical page 1
  /// is not read by any analysis, so the extract leaves it out).
  static func comparable(_ text: String) -> [String] {
    var out: [String] = []
    var inPhysicalRead = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
      if line.hasPrefix("crash> ") { inPhysicalRead = line == "crash> rd -p 0x1000 8" }
      if inPhysicalRead || line.hasPrefix("# ") || line.contains("DUMPFILE:") { continue }
      out.append(line.replacing(/\b(0x)?0{0,4}(5[0-9a-f]{11})\b/, with: "HEAP"))
    }
    return out
  }
}
