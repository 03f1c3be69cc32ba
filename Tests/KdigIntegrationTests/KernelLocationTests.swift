// Where kdig finds the kernel in each real sample, against what the kernel itself printed on
// the console ("Kernel Offset: …") and what the sample was booted with.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct KernelLocationTests {
  /// What the guest's console says about `_text`: the panic's "Kernel Offset:" line (QMP
  /// samples), or the `/proc/kallsyms` line the sample's init prints before a kexec panic
  /// (crash_kexec runs before the notifier that prints Kernel Offset).
  static func consoleKASLR(_ s: Sample) -> UInt64? {
    // The serial console may hold bytes that are not UTF-8: decode leniently.
    guard let path = s.console_log, let data = FileManager.default.contents(atPath: path) else { return nil }
    let log = String(decoding: data, as: UTF8.self)
    // Serial consoles end lines with CRLF, which Swift treats as one Character.
    for rawLine in log.split(whereSeparator: \.isNewline) {
      let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.contains("Kernel Offset: disabled") { return 0 }
      if let r = line.range(of: "Kernel Offset: 0x") {
        let digits = line[r.upperBound...].prefix { $0.isHexDigit }
        return UInt64(digits, radix: 16)
      }
      let words = line.split(separator: " ")
      if words.count >= 3, words[words.count - 1] == "_text", words[words.count - 2] == "T",
        let text = UInt64(words[words.count - 3], radix: 16)
      {
        return text &- KernelConstants.startKernel
      }
    }
    return nil
  }

  @Test(arguments: Samples.forTests)
  func kaslrOffsetEqualsTheConsole(sample: Sample) throws {
    let s = try sample.require()
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let layout = session.kernel.layout
    let printed = try #require(Self.consoleKASLR(s), "the console of \(s.name) names neither Kernel Offset nor _text")
    #expect(layout.kaslrOffset.value == printed, "\(s.name): \(layout.kaslrOffset.how)")
    #expect((layout.kaslrOffset.value != 0) == s.kaslr)
    #expect(layout.pagingMode.value.rawValue == s.paging_levels)
  }

  @Test(arguments: Samples.forTests)
  func releaseAndVmlinuxMatch(sample: Sample) throws {
    let s = try sample.require()
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let info = MachineInfoAnalyzer(kernel: session.kernel).analyze()
    #expect(info.release?.value == s.kernel_release)
    #expect(info.machine?.value == "x86_64")
    #expect(session.kernel.vmlinuxMatch != nil)
    #expect(session.kernel.vmlinuxMatch?.contains("MISMATCH") == false)
    #expect((session.kernel.vmcoreinfo != nil) == s.vmcoreinfo)
  }

  @Test(arguments: Samples.forTests)
  func ptiStateMatchesTheBoot(sample: Sample) throws {
    let s = try sample.require()
    let session = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux)
    let pti = try #require(session.kernel.memoryMap().pti)
    if let console = s.pti_console {
      #expect(pti.value == console, "\(s.name): \(pti.how)")
    }
    if s.pti_requested == "off" { #expect(pti.value == false) }
  }

  @Test func wrongVmlinuxIsRefusedWithBothBuildIDs() throws {
    let s612 = try Samples.named("6.12-qemu-elf").require()
    let s61 = try Samples.named("6.1-qemu-elf").require()
    do {
      _ = try Session(dumpPath: s612.file, vmlinuxPath: s61.vmlinux)
      Issue.record("a 6.1 vmlinux was accepted for a 6.12 dump")
    } catch let e as KernelImageError {
      #expect(e.category == .debugInfo)
      #expect(e.description.contains(s61.vmlinux))
      #expect(e.description.contains("--force"))
    }
  }
}
