// `kdig check` as CI runs it: real dumps in a batch, JSON Lines checked against the
// documented schema, a truncated dump and dying checkers reported as errors while the
// good dumps of the same batch are still checked, and the exit codes.

import Foundation
import KdigTestSupport
import Testing

@Suite struct CheckCommandTests {
  func sample(_ name: String) throws -> Sample { try Samples.named(name).require() }

  @Test func samplesAreOKWithTheirVmlinuxFoundByRelease() throws {
    let samples = try ["6.12-qemu-elf", "6.1-kdump-zlib-d31", "6.12-qemu-kdump-zlib"].map(sample)
    let root = try DebugSysroot(samples)
    let r = try KdigProcess.run(["check", "--json", "--jobs", "2"] + samples.map(\.file), environment: ["KDIG_SYSROOT": root.path])
    #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    #expect(r.stderr.isEmpty, "progress only on a terminal: \(r.stderr)")
    let lines = try CheckLines(r.stdout)
    #expect(lines.dumps.count == 3)
    for s in samples {
      let d = try lines.dump(s.file)
      #expect(CheckLines.schemaProblems(d).isEmpty, "\(s): \(CheckLines.schemaProblems(d))")
      #expect(d["status"] as? String == "ok", "\(s): \(d)")
      let kernel = try #require(d["kernel"] as? [String: Any])
      #expect(kernel["release"] as? String == s.kernel_release)
      #expect(kernel["vmlinux"] as? String == root.vmlinux(of: s))
      let crash = try #require(d["crash"] as? [String: Any], "\(s): no crash summary")
      #expect(crash["message"] as? String == "sysrq triggered crash", "\(s): \(crash)")
      #expect((crash["frames"] as? [String])?.contains { $0.hasPrefix("panic+") } == true)
      #expect(d["error"] is NSNull)
      let sections = try #require(d["sections"] as? [[String: Any]])
      #expect(sections.map { $0["name"] as? String } == ["dump", "idt", "cea", "wx", "pti"])
      #expect(sections.allSatisfy { $0["status"] as? String == "passed" }, "\(s): \(sections)")
      let findings = try #require(d["findings"] as? [[String: Any]])
      #expect(!findings.contains { $0["severity"] as? String == "error" }, "\(s): \(findings)")
    }
    #expect(lines.summary["total"] as? Int == 3)
    #expect(lines.summary["ok"] as? Int == 3)
    #expect(lines.summary["exitCode"] as? Int == 0)
  }

  /// Writes the first `length` bytes of `source` to a temporary file.
  func prefix(of source: String, length: Int) throws -> TemporaryFile {
    let handle = try #require(FileHandle(forReadingAtPath: source))
    defer { try? handle.close() }
    return try TemporaryFile(Array(try handle.read(upToCount: length) ?? Data()), name: "cut")
  }

  @Test func truncatedDumpIsAnErrorAndTheBatchGoesOn() throws {
    let elf = try sample("6.12-qemu-elf")
    let good = try sample("6.12-qemu-kdump-zlib")
    let size = try #require(try FileManager.default.attributesOfItem(atPath: elf.file)[.size] as? Int)
    let cut = try prefix(of: elf.file, length: size / 7)
    let r = try KdigProcess.run(["check", "--json", "--jobs", "2", "--vmlinux", elf.vmlinux, cut.path, good.file])
    #expect(r.status == 2, "\(r.stdout)\n\(r.stderr)")
    let lines = try CheckLines(r.stdout)
    let bad = try lines.dump(cut.path)
    #expect(CheckLines.schemaProblems(bad).isEmpty, "\(CheckLines.schemaProblems(bad))")
    #expect(bad["status"] as? String == "error")
    let error = try #require(bad["error"] as? [String: Any])
    #expect(error["category"] as? String == "malformed-input", "\(error)")
    let message = error["message"] as? String ?? ""
    #expect(message.contains(cut.path) && message.contains("offset 0x"), "\(message)")
    #expect(try lines.dump(good.file)["status"] as? String == "ok")
    #expect(lines.summary["error"] as? Int == 1)
    #expect(lines.summary["ok"] as? Int == 1)
    #expect(lines.summary["exitCode"] as? Int == 2)

    let text = try KdigProcess.run(["check", "--jobs", "1", "--vmlinux", elf.vmlinux, cut.path, good.file])
    #expect(text.status == 2)
    let lineFor = { (path: String) in
      text.stdout.split(separator: "\n").first { $0.hasSuffix(path) || $0.contains(path + ":") || $0.contains(path + "  panic: ") }
    }
    #expect(lineFor(cut.path)?.hasPrefix("ERROR    ") == true, "\(text.stdout)")
    #expect(lineFor(good.file)?.hasPrefix("OK       6.12.107+deb12-cloud-amd64  0 findings") == true, "\(text.stdout)")
    #expect(text.stdout.contains("2 dumps: 1 ok, 0 with findings, 1 error"), "\(text.stdout)")
  }

  @Test func checkerThatDiesOrHangsIsAnError() throws {
    let s = try sample("6.12-qemu-elf")
    // 4 MiB of heap is not enough for a checker: it traps allocating, the parent reports it.
    let starved = try KdigProcess.run(["check", "--json", "--memory-limit", "4", "--vmlinux", s.vmlinux, s.file])
    #expect(starved.status == 2, "\(starved.stdout)")
    let d = try CheckLines(starved.stdout).dump(s.file)
    #expect(CheckLines.schemaProblems(d).isEmpty)
    let e = try #require(d["error"] as? [String: Any])
    #expect(e["category"] as? String == "crashed", "\(e)")
    #expect((e["message"] as? String)?.contains("checker process") == true, "\(e)")

    let slow = try KdigProcess.run(["check", "--json", "--timeout", "0.001", "--vmlinux", s.vmlinux, s.file])
    #expect(slow.status == 2)
    let t = try #require(try CheckLines(slow.stdout).dump(s.file)["error"] as? [String: Any])
    #expect(t["category"] as? String == "timeout", "\(t)")
  }

  @Test func dumpWithoutAVmlinuxIsCheckedFromItsKallsymsAndBTF() throws {
    let s = try sample("6.1-kdump-zlib-d31")
    let empty = try DebugSysroot([])
    let r = try KdigProcess.run(["check", "--json", s.file], environment: ["KDIG_SYSROOT": empty.path])
    #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    let d = try CheckLines(r.stdout).dump(s.file)
    #expect(d["status"] as? String == "ok", "\(d)")
    let kernel = try #require(d["kernel"] as? [String: Any])
    #expect(kernel["release"] as? String == s.kernel_release)
    #expect(kernel["vmlinux"] is NSNull)
    #expect((d["crash"] as? [String: Any])?["message"] as? String == "sysrq triggered crash")
  }

  /// `kdig check --json --debuginfo-dir DIR DUMP` with nothing under the system root: the
  /// dump's line.
  func checkWithDebuginfoDir(_ dir: String, _ s: Sample) throws -> [String: Any] {
    let empty = try DebugSysroot([])
    let r = try KdigProcess.run(["check", "--json", "--debuginfo-dir", dir, s.file], environment: ["KDIG_SYSROOT": empty.path])
    #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    let d = try CheckLines(r.stdout).dump(s.file)
    #expect(CheckLines.schemaProblems(d).isEmpty, "\(CheckLines.schemaProblems(d))")
    #expect(d["status"] as? String == "ok", "\(d)")
    return d
  }

  /// The dump's VMCOREINFO BUILD-ID as `check` reports it (the manifest does not record it).
  func buildID(of s: Sample) throws -> String {
    let empty = try DebugSysroot([])
    let r = try KdigProcess.run(["check", "--json", s.file], environment: ["KDIG_SYSROOT": empty.path])
    let kernel = try #require(try CheckLines(r.stdout).dump(s.file)["kernel"] as? [String: Any])
    return try #require(kernel["buildID"] as? String)
  }

  @Test func debuginfoDirFindsTheVmlinuxByBuildID() throws {
    let s = try sample("6.12-qemu-elf")
    let id = try buildID(of: s)
    let dir = try DebugSysroot([])
    let link = "\(dir.path)/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug"
    try FileManager.default.createDirectory(atPath: "\(dir.path)/.build-id/\(id.prefix(2))", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.vmlinux)
    let kernel = try #require(try checkWithDebuginfoDir(dir.path, s)["kernel"] as? [String: Any])
    #expect(kernel["vmlinux"] as? String == link)
    #expect(kernel["buildID"] as? String == id)
  }

  @Test func debuginfoDirFindsTheVmlinuxByRelease() throws {
    let s = try sample("6.1-kdump-zlib-d31")
    let dir = try DebugSysroot([])
    let link = "\(dir.path)/vmlinux-\(s.kernel_release)"
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: s.vmlinux)
    let kernel = try #require(try checkWithDebuginfoDir(dir.path, s)["kernel"] as? [String: Any])
    #expect(kernel["vmlinux"] as? String == link)
  }

  @Test func debuginfoDirVmlinuxOfAnotherKernelIsSkipped() throws {
    // The 6.1 vmlinux named as the 6.12 dump's: its build-id differs, so it is not used and
    // the dump is checked from its kallsyms and BTF.
    let s = try sample("6.12-qemu-elf")
    let other = try sample("6.1-kdump-zlib-d31")
    let dir = try DebugSysroot([])
    try FileManager.default.createSymbolicLink(atPath: "\(dir.path)/vmlinux-\(s.kernel_release)", withDestinationPath: other.vmlinux)
    let kernel = try #require(try checkWithDebuginfoDir(dir.path, s)["kernel"] as? [String: Any])
    #expect(kernel["vmlinux"] is NSNull, "\(kernel)")
    #expect(kernel["release"] as? String == s.kernel_release)
  }

  @Test func dumpWithoutVmlinuxOrVMCOREINFOIsADebugInfoError() throws {
    // Nothing says where kallsyms is and the kernel cannot be located without a vmlinux.
    let s = try sample("6.12-novmcoreinfo-qemu-elf")
    let empty = try DebugSysroot([])
    let r = try KdigProcess.run(["check", "--json", s.file], environment: ["KDIG_SYSROOT": empty.path])
    #expect(r.status == 2)
    let e = try #require(try CheckLines(r.stdout).dump(s.file)["error"] as? [String: Any])
    #expect(e["category"] as? String == "debug-info", "\(e)")
  }

  @Test func usageErrorsExit64() throws {
    let s = try sample("6.12-qemu-elf")
    #expect(try KdigProcess.run(["check"]).status == 64)
    #expect(try KdigProcess.run(["check", "--jobs", "0", s.file]).status == 64)
    #expect(try KdigProcess.run(["check", "--baseline", "/nonexistent/baseline.json", s.file]).status == 64)
    let noReason = try TemporaryFile(Array(#"[{"id": "idt.dpl"}]"#.utf8), name: "baseline")
    let r = try KdigProcess.run(["check", "--baseline", noReason.path, s.file])
    #expect(r.status == 64)
    #expect(r.stderr.contains(noReason.path))
    #expect(try KdigProcess.run(["check", "--junit", "/nonexistent/dir/junit.xml", s.file]).status == 64)
  }
}
