// `kdig check` on a tampered copy of a real dump (the #PF gate hooked into vmalloc space):
// status findings with exactly the IDT finding, exit 1; the JUnit file of a mixed batch;
// a baseline that accepts the finding turns exit 1 into 0 and names its unused entries.

import Foundation
import FoundationXML
import Kdig
import KdigTestSupport
import KdigX86
import Testing

@Suite(.serialized) struct CheckTamperTests {
  let sample: Sample
  let good: Sample
  /// The hooked copy, patched once for the whole suite and removed at exit.
  nonisolated(unsafe) static var hooked: PatchableDump?

  init() throws {
    sample = try Samples.named("6.12-qemu-elf").require()
    good = try Samples.named("6.12-qemu-kdump-zlib").require()
    if Self.hooked == nil {
      let copy = try PatchableCopy(copying: sample.file, name: "tamper")  // kdig-tamper-*.vmcore: the baseline test matches it
      let session = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux)
      let elf = try #require(session.dump as? ElfCoreDump)
      let gatePA = try session.kernel.kernelSpace.translate(try session.kernel.lookup("idt_table").address) + 14 * 16
      let offset = try #require(elf.fileOffset(ofPhysical: gatePA))
      let pf = try GateDescriptor(bytes: try copy.read(offset, 16))
      let hook = GateDescriptor(
        handler: 0xffff_c900_dead_0000, selector: pf.selector, ist: pf.ist, type: pf.type, dpl: pf.dpl, present: true)
      try copy.write(hook.encode(), at: offset)
      Self.hooked = copy
      atexit { CheckTamperTests.hooked = nil }
    }
  }

  var copy: String { Self.hooked?.path ?? "" }

  @Test func hookedGateIsAFindingAndExitsOne() throws {
    let r = try KdigProcess.run(["check", "--json", "--jobs", "2", "--vmlinux", sample.vmlinux, copy, good.file])
    #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
    let lines = try CheckLines(r.stdout)
    let d = try lines.dump(copy)
    #expect(CheckLines.schemaProblems(d).isEmpty, "\(CheckLines.schemaProblems(d))")
    #expect(d["status"] as? String == "findings")
    let errors = (d["findings"] as? [[String: Any]] ?? []).filter { $0["severity"] as? String == "error" }
    #expect(errors.map { $0["id"] as? String } == ["idt.handler-hooked"], "\(errors)")
    #expect(errors.first?["section"] as? String == "idt")
    #expect(errors.first?["vector"] as? Int == 14)
    #expect((d["sections"] as? [[String: Any]])?.first { $0["name"] as? String == "idt" }?["status"] as? String == "failed")
    #expect(try lines.dump(good.file)["status"] as? String == "ok")
    #expect(lines.summary["findings"] as? Int == 1)
    #expect(lines.summary["findingCount"] as? Int == 1)
    #expect(lines.summary["exitCode"] as? Int == 1)
  }

  @Test func junitHasOneTestcasePerDump() throws {
    let size = try #require(try FileManager.default.attributesOfItem(atPath: sample.file)[.size] as? Int)
    let handle = try #require(FileHandle(forReadingAtPath: sample.file))
    let cut = try TemporaryFile(Array(try handle.read(upToCount: size / 7) ?? Data()), name: "cut")
    try handle.close()
    let junit = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-junit-\(UUID().uuidString).xml").path
    defer { try? FileManager.default.removeItem(atPath: junit) }
    let r = try KdigProcess.run(["check", "--junit", junit, "--vmlinux", sample.vmlinux, good.file, copy, cut.path])
    #expect(r.status == 2, "an unreadable dump wins over findings: \(r.stdout)")
    let xml = try XMLDocument(contentsOf: URL(fileURLWithPath: junit), options: [])
    let root = try #require(xml.rootElement())
    #expect(root.name == "testsuites")
    let suites = root.elements(forName: "testsuite")
    #expect(suites.count == 1)
    let suite = try #require(suites.first)
    #expect(suite.attribute(forName: "tests")?.stringValue == "3")
    #expect(suite.attribute(forName: "failures")?.stringValue == "1")
    #expect(suite.attribute(forName: "errors")?.stringValue == "1")
    let cases = suite.elements(forName: "testcase")
    #expect(cases.compactMap { $0.attribute(forName: "name")?.stringValue } == [good.file, copy, cut.path])
    func child(_ i: Int, _ name: String) -> XMLElement? { cases[i].elements(forName: name).first }
    #expect(child(0, "failure") == nil && child(0, "error") == nil)
    #expect(child(1, "failure")?.attribute(forName: "message")?.stringValue?.contains("idt.handler-hooked") == true)
    #expect(child(1, "failure")?.stringValue?.contains("0xffffc900dead0000") == true)
    #expect(child(2, "error")?.attribute(forName: "type")?.stringValue == "malformed-input")
    #expect(child(2, "error")?.attribute(forName: "message")?.stringValue?.contains(cut.path) == true)
  }

  @Test func baselineAcceptsTheFindingAndReportsUnusedEntries() throws {
    let entries = """
      [{"id": "idt.handler-hooked", "release": "6.12.*", "dump": "kdig-tamper-*.vmcore", "reason": "test hook on #PF"},
       {"id": "idt.dpl", "reason": "never happens"}]
      """
    let baseline = try TemporaryFile(Array(entries.utf8), name: "baseline")
    let r = try KdigProcess.run(["check", "--json", "--baseline", baseline.path, "--vmlinux", sample.vmlinux, copy])
    #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    let lines = try CheckLines(r.stdout)
    let d = try lines.dump(copy)
    #expect(d["status"] as? String == "ok")
    let hooked = (d["findings"] as? [[String: Any]] ?? []).first { $0["id"] as? String == "idt.handler-hooked" }
    #expect(hooked?["accepted"] as? String == "test hook on #PF")
    #expect(lines.summary["acceptedCount"] as? Int == 1)
    let unused = lines.summary["unmatchedBaseline"] as? [[String: Any]] ?? []
    #expect(unused.map { $0["id"] as? String } == ["idt.dpl"])

    let text = try KdigProcess.run(["check", "--baseline", baseline.path, "--vmlinux", sample.vmlinux, copy])
    #expect(text.status == 0)
    #expect(text.stdout.contains("ACCEPTED idt.handler-hooked [vector 14]"), "\(text.stdout)")
    #expect(text.stdout.contains("baseline entry matched nothing: idt.dpl: never happens"), "\(text.stdout)")

    let otherRelease = try TemporaryFile(Array(#"[{"id": "idt.handler-hooked", "release": "6.1.*", "reason": "6.1 only"}]"#.utf8), name: "baseline")
    #expect(try KdigProcess.run(["check", "--baseline", otherRelease.path, "--vmlinux", sample.vmlinux, copy]).status == 1)
  }
}
