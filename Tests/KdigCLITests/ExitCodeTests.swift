// The command line's exit codes and error messages, on real dumps and on broken copies of them.

import Foundation
import KdigTestSupport
import Testing

@Suite struct ExitCodeTests {
  func sample(_ name: String) throws -> Sample { try Samples.named(name).require() }

  @Test func infoSucceedsAndJSONCarriesHexStrings() throws {
    let s = try sample("6.12-qemu-elf")
    let r = try KdigProcess.run(["info", "--json", "--dump", s.file, "--vmlinux", s.vmlinux])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    #expect(json["schemaVersion"] as? Int == 1)
    let result = try #require(json["result"] as? [String: Any])
    let kaslr = try #require(result["kaslrOffset"] as? [String: Any])
    #expect((kaslr["value"] as? String)?.hasPrefix("0x") == true)
    #expect(kaslr["value"] as? String == s.kernel_offset_console)
  }

  @Test func environmentNamesTheDumpAndVmlinux() throws {
    let s = try sample("6.12-qemu-elf")
    let r = try KdigProcess.run(["sym", "idt_table"], environment: ["KDIG_DUMP": s.file, "KDIG_VMLINUX": s.vmlinux])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("(b) idt_table") || r.stdout.contains("(B) idt_table"))
  }

  @Test func usageErrorsExit64() throws {
    let s = try sample("6.12-qemu-elf")
    #expect(try KdigProcess.run(["info"]).status == 64)  // no dump at all
    let r = try KdigProcess.run(["sym", "no_such_symbol_kdig", "--dump", s.file, "--vmlinux", s.vmlinux])
    #expect(r.status == 64)
    #expect(r.stderr.contains("no_such_symbol_kdig"))
    #expect(try KdigProcess.run(["rd", "--no-such-flag"]).status == 64)
  }

  @Test func unmappedAddressExits1() throws {
    let s = try sample("6.12-qemu-elf")
    // Non-canonical under 4-level paging, and a canonical kernel address nothing maps.
    for address in ["0x0000800000000000", "0xffffffffff7ff000"] {
      let r = try KdigProcess.run(["rd", address, "--dump", s.file, "--vmlinux", s.vmlinux])
      #expect(r.status == 1, "\(address): \(r.stderr)")
      #expect(r.stderr.contains("virtual address"))
    }
  }

  @Test func excludedPageExits2AndSaysExcluded() throws {
    let filtered = try sample("6.12-kdump-zlib-d31")
    // Find a page the -d 31 dump dropped but the unfiltered /proc/vmcore copy has.
    let r0 = try KdigProcess.run(["rd", "-p", "0x1000", "--dump", filtered.file, "--vmlinux", filtered.vmlinux])
    #expect(r0.status == 0 || r0.status == 2)
    var found = false
    for mib in stride(from: 64, to: 900, by: 16) {
      let r = try KdigProcess.run(["rd", "-p", "0x" + String(UInt64(mib) << 20, radix: 16), "--dump", filtered.file, "--vmlinux", filtered.vmlinux])
      if r.status == 2 && r.stderr.contains("excluded") {
        #expect(r.stderr.contains(filtered.file))
        found = true
        break
      }
    }
    #expect(found, "no excluded page found in a -d 31 dump")
  }

  @Test func wrongVmlinuxExits3() throws {
    let s612 = try sample("6.12-qemu-elf")
    let s61 = try sample("6.1-qemu-elf")
    let r = try KdigProcess.run(["info", "--dump", s612.file, "--vmlinux", s61.vmlinux])
    #expect(r.status == 3)
    #expect(r.stderr.contains("does not match"))
    let forced = try KdigProcess.run(["info", "--force", "--dump", s612.file, "--vmlinux", s61.vmlinux])
    #expect(forced.status != 3)
  }

  @Test func notADumpExits2() throws {
    let junk = try TemporaryFile(Array(repeating: 0x41, count: 4096), name: "junk")
    let r = try KdigProcess.run(["info", "--dump", junk.path])
    #expect(r.status == 2)
    #expect(r.stderr.contains(junk.path))
    let missing = try KdigProcess.run(["info", "--dump", "/nonexistent/vmcore"])
    #expect(missing.status == 2)
    #expect(missing.stderr.contains("/nonexistent/vmcore"))
  }

  @Test func jsonErrorIsParseable() throws {
    let s = try sample("6.12-qemu-elf")
    let r = try KdigProcess.run(["rd", "0x0000800000000000", "--json", "--dump", s.file, "--vmlinux", s.vmlinux])
    #expect(r.status == 1)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let error = try #require(json["error"] as? [String: Any])
    #expect(error["category"] as? String == "not-mapped")
    #expect(error["exitCode"] as? Int == 1)
  }
}

@Suite struct VmlinuxSearchTests {
  @Test func vmlinuxIsFoundByReleaseAndByBuildID() throws {
    let s = try Samples.named("6.12-qemu-elf").require()
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-sysroot-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    // No vmlinux anywhere under the root: kdig says so, naming the places searched, and
    // answers from the dump's kallsyms instead (docs/no-vmlinux.md).
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let none = try KdigProcess.run(["sym", "idt_table", "--dump", s.file], environment: ["KDIG_SYSROOT": root])
    #expect(none.status == 0, "\(none.stderr)")
    #expect(none.stderr.contains("no vmlinux found"))
    #expect(none.stderr.contains("/usr/lib/debug/boot/vmlinux-\(s.kernel_release)"))
    // By release: <root>/usr/lib/debug/boot/vmlinux-REL.
    let boot = root + "/usr/lib/debug/boot"
    try FileManager.default.createDirectory(atPath: boot, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: boot + "/vmlinux-\(s.kernel_release)", withDestinationPath: s.vmlinux)
    let byRelease = try KdigProcess.run(["info", "--dump", s.file], environment: ["KDIG_SYSROOT": root])
    #expect(byRelease.status == 0, "\(byRelease.stderr)")
    #expect(byRelease.stdout.contains("vmlinux-\(s.kernel_release)"))
    #expect(byRelease.stdout.contains("matches VMCOREINFO BUILD-ID"))
  }
}

@Suite struct TranslationCommandTests {
  func run(_ args: [String]) throws -> KdigRun {
    let s = try Samples.named("6.12-qemu-elf").require()
    return try KdigProcess.run(args + ["--dump", s.file, "--vmlinux", s.vmlinux])
  }

  @Test func vtopExitCodes() throws {
    let ok = try run(["vtop", "0xfffffe0000000000", "idt_table"])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(ok.stdout.contains("(PRESENT|ACCESSED|GLOBAL|NX)"))
    #expect(try run(["vtop", "0xffffffffff7ff000"]).status == 1)  // not mapped
    let user = try run(["vtop", "0x400000"])
    #expect(user.status == 64)
    #expect(user.stderr.contains("-u with -c"))
    let kthread = try run(["vtop", "-c", "2", "0x400000"])
    #expect(kthread.status == 64)
    #expect(kthread.stderr.contains("kernel thread"))
    #expect(try run(["vtop", "-u", "-k", "0x1000"]).status == 64)
  }

  @Test func psSelectionExitCodes() throws {
    let some = try run(["ps", "1", "'^kworker/'"])
    #expect(some.status == 0, "\(some.stderr)")
    #expect(some.stdout.contains("  init\n") && some.stdout.contains("[kworker/"))
    let none = try run(["ps", "no-such-command"])
    #expect(none.status == 64)
    #expect(none.stderr.contains("no task with PID, task_struct address or command no-such-command"))
    #expect(try run(["ps", "'[('"]).status == 64)  // not a regular expression
    #expect(try run(["ps", "-k", "-u"]).status == 64)
  }

  @Test func vtopJSONCarriesTheWholeTrace() throws {
    let r = try run(["vtop", "--json", "0xfffffe0000000000"])
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let answer = try #require((json["result"] as? [[String: Any]])?.first)
    let steps = try #require(answer["steps"] as? [[String: Any]])
    #expect(steps.map { $0["level"] as? String } == ["PGD", "PUD", "PMD", "PTE"])
    #expect(steps.allSatisfy { ($0["entryAddress"] as? String)?.hasPrefix("0x") == true })
  }

  @Test func ptdumpPteAndPtov() throws {
    let dump = try run(["ptdump", "cpu_entry_area"])
    #expect(dump.status == 0)
    #expect(dump.stdout.contains("---[ CPU entry Area ]---"))
    #expect(dump.stdout.contains("0xfffffe0000000000-0xfffffe0000001000           4K     ro                 GLB NX pte"))
    let pte = try KdigProcess.run(["pte", "0x8000000012345063"])
    #expect(pte.status == 0)
    #expect(pte.stdout.contains("12345000"))
    #expect(pte.stdout.contains("PRESENT|RW|ACCESSED|DIRTY|NX"))
    let ptov = try run(["ptov", "0x1000", "0:a"])
    #expect(ptov.status == 0)
    #expect(ptov.stdout.contains("PER-CPU OFFSET: 0"))
  }

  @Test func idtCommand() throws {
    let verify = try run(["idt", "--verify-ro"])
    #expect(verify.status == 0, "\(verify.stderr)")
    #expect(verify.stdout.hasPrefix("IDT OK: 256 gates, read-only in CEA and kernel mapping"))
    let crash = try run(["idt", "--crash"])
    #expect(crash.stdout.hasPrefix("  [0] asm_exc_divide_error\n"))
    #expect(crash.stdout.split(separator: "\n").count == 256)
  }
}
