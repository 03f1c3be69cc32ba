// Real `kdig check --json` output against the published schema (docs/check.schema.json), by
// python's jsonschema: an ok dump with its vmlinux found, one checked without a vmlinux (the
// notice), the hooked copy (findings, one accepted by a baseline that also has an unmatched
// entry), a truncated dump (error). A line the schema forbids is refused, so the validator
// is not vacuous. An extension of CheckTamperTests: it shares the hooked copy.

import Foundation
import KdigTestSupport
import Testing

extension CheckTamperTests {
  @Test func jsonLinesMatchThePublishedSchema() throws {
    let noVmlinux = try Samples.named("6.1-kdump-zlib-d31").require()
    let size = try #require(try FileManager.default.attributesOfItem(atPath: good.file)[.size] as? Int)
    let handle = try #require(FileHandle(forReadingAtPath: good.file))
    let cut = try TemporaryFile(Array(try handle.read(upToCount: size / 3) ?? Data()), name: "cut")
    try handle.close()
    let entries = """
      [{"id": "idt.handler-hooked", "dump": "kdig-tamper-*.vmcore", "reason": "test hook on #PF"},
       {"id": "idt.dpl", "release": "6.12.*", "reason": "never happens"}]
      """
    let baseline = try TemporaryFile(Array(entries.utf8), name: "baseline")
    let root = try DebugSysroot([sample])  // the 6.12 vmlinux by release; none for 6.1
    let findings = try KdigProcess.run(
      ["check", "--json", "--jobs", "2", good.file, noVmlinux.file, cut.path, copy], environment: ["KDIG_SYSROOT": root.path])
    let accepted = try KdigProcess.run(
      ["check", "--json", "--baseline", baseline.path, copy], environment: ["KDIG_SYSROOT": root.path])
    #expect(findings.status == 2 && accepted.status == 0, "\(findings.stdout)\n\(accepted.stdout)")
    let statuses = try CheckLines(findings.stdout).dumps.compactMap { $0["status"] as? String }.sorted()
    #expect(statuses == ["error", "findings", "ok", "ok"])

    let output = findings.stdout + accepted.stdout
    let valid = try CheckSchema.validate(output)
    #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
    #expect(valid.stdout.contains("7 lines valid"), "\(valid.stdout)")

    // A status the schema does not know, and a summary without its exit code, are refused.
    let broken = output.replacingOccurrences(of: #""status":"ok""#, with: #""status":"fine""#)
      .replacingOccurrences(of: #""exitCode":2,"#, with: "")
    let refused = try CheckSchema.validate(broken)
    #expect(refused.status == 1, "\(refused.stdout)")
    #expect(refused.stdout.contains("status: 'fine' is not one of"), "\(refused.stdout)")
    #expect(refused.stdout.contains("'exitCode' is a required property"), "\(refused.stdout)")
  }
}
