// The checks `kdig check` runs, in the library: every real sample is ok; a dump that lacks
// the IDT page says so in its integrity section; baselines and JUnit escaping.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct DumpCheckTests {
  @Test(arguments: Samples.forTests)
  func everySampleIsOK(sample: Sample) throws {
    let s = try sample.require()
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let report = DumpCheckRunner().report(kernel: session.kernel, dump: s.file, elapsed: { 0 })
    #expect(report.status == .ok, "\(report.findings.map(\.message)) \(String(describing: report.error))")
    #expect(report.sections.map(\.name) == ["dump", "idt", "cea", "wx", "pti"])
    // Every section passes; the PTI audit is skipped exactly where PTI is off.
    let ptiOff = s.pti_requested == "off"
    #expect(report.sections.allSatisfy { $0.status == .passed || ($0.name == "pti" && ptiOff && $0.status == .skipped) })
    #expect(report.sections.first { $0.name == "pti" }?.status == (ptiOff ? .skipped : .passed), "\(s.name)")
    #expect(report.findings.allSatisfy { $0.severity != .error })
    #expect(report.sections.first?.checks.contains { $0.name == "pages" && $0.status == "passed" } == true)
    #expect(report.kernel?.release == s.kernel_release)
    // What crashed: the console's own panic line, and the panicking task's frames.
    let console = try String(contentsOfFile: try #require(s.console_log), encoding: .utf8)
    let crash = try #require(report.crash, "\(s.name): no crash summary")
    let message = try #require(crash.message, "\(s.name): no panic message")
    #expect(console.contains("Kernel panic - not syncing: \(message)"), "\(s.name): \(message)")
    if !crash.frames.contains(where: { $0.hasPrefix("panic+") }),
      let bt = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel.backtraces(.panicking).first,
      let why = try FilteredDumps.excusedBacktrace(s, end: bt.end)
    {
      print(why)
    } else {
      #expect(crash.frames.contains { $0.hasPrefix("panic+") }, "\(s.name): \(crash.frames)")
    }
    #expect(crash.cpu != nil && crash.task != nil)
  }

  @Test func excludedIDTPageIsOneIntegrityFinding() throws {
    let s = try Samples.named("6.12-qemu-elf").require()
    let full = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let idtPA = try full.kernelSpace.translate(try full.lookup("idt_table").address)
    let filtered = ExcludingDump(try openDump(path: s.file), excludingFrames: [idtPA >> 12])
    let kernel = try KernelImage(dump: filtered, vmlinux: try VmlinuxFile(path: s.vmlinux))
    let report = DumpCheckRunner().report(kernel: kernel, dump: s.file, elapsed: { 0 })
    #expect(report.status == .findings)
    let errors = report.findings.filter { $0.severity == .error }
    // idt_table and its read-only alias share the frame: one missing page, one finding.
    #expect(errors.map(\.id) == ["dump.page-excluded"], "\(errors.map(\.message))")
    let f = try #require(errors.first)
    #expect(f.section == "dump")
    #expect(f.evidence["physical"] == "0x" + String(idtPA & ~0xfff, radix: 16))
    #expect(f.evidence["neededBy"]?.contains("idt: idt_table") == true)
    #expect(f.evidence["neededBy"]?.contains("CPU_ENTRY_AREA_RO_IDT") == true)
    #expect(report.sections.first { $0.name == "idt" }?.status == .skipped)
  }

  func report(dump: String, release: String, findings: [(String, Severity)]) -> DumpCheckReport {
    let section = CheckSection(name: "idt", checks: [], findings: findings.map { Finding($0.1, $0.0, "test finding") })
    return DumpCheckReport(
      dump: dump, kernel: KernelIdentity(release: release, buildID: nil, vmlinux: nil), sections: [section], elapsed: 0)
  }

  @Test func baselineMatchesByIdReleaseAndDumpAndReportsUnusedEntries() {
    var baseline = CheckBaseline(entries: [
      BaselineEntry(id: "idt.dpl", release: "6.1.*", reason: "known on 6.1"),
      BaselineEntry(id: "idt.ist", dump: "vm-7*.vmcore", reason: "lab machine 7"),
      BaselineEntry(id: "idt.selector", dump: "/dumps/exact.vmcore", reason: "one dump"),
      BaselineEntry(id: "idt.stub", reason: "never seen"),
    ])
    var a = report(dump: "/dumps/vm-71.vmcore", release: "6.1.0-56-cloud-amd64", findings: [("idt.dpl", .error), ("idt.ist", .error)])
    baseline.apply(to: &a)
    #expect(a.status == .ok)
    #expect(a.findings.map(\.accepted) == ["known on 6.1", "lab machine 7"])
    var b = report(dump: "/dumps/exact.vmcore", release: "6.12.107+deb12-cloud-amd64", findings: [("idt.dpl", .error), ("idt.selector", .error)])
    baseline.apply(to: &b)
    #expect(b.status == .findings, "6.12 is not 6.1.*")
    #expect(b.findings.map(\.accepted) == [nil, "one dump"])
    #expect(baseline.unmatched.map(\.id) == ["idt.stub"])
  }

  @Test func junitEscapesWhatXMLCannotCarry() {
    #expect(CheckJUnitRenderer.escape("a<b>&\"c'\u{1}\n") == "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}&#10;")
  }
}
