// `kdig extract` on real samples: the extract is a dump kdig opens like the original, every
// command answers on it what it answers on the original (with the vmlinux and without), it
// is small, and it is made quickly. drgn and crash on the extract: ExtractOracleTests.

import Foundation
import Kdig
import KdigTestSupport
import Testing

enum ExtractSamples {
  /// Formats and triggers: QEMU ELF (2 and 4 CPUs, 5-level, NMI and IRQ-context panics) and
  /// makedumpfile -d31 (zlib, lzo) of kexec captures, on 6.12 and 6.1.
  static let names = [
    "6.12-qemu-elf", "6.12-kdump-zlib-d31", "6.12-la57-qemu-elf", "6.12-nmi-qemu-elf", "6.12-smp4-qemu-elf",
    "6.1-qemu-elf", "6.1-kdump-lzo-d31", "6.1-sysrq-irq-qemu-elf",
  ]
}

@Suite struct ExtractAgreementTests {
  /// Commands whose whole output must agree, with the vmlinux.
  static let commands: [[String]] = [
    ["vtop", "0xfffffe0000000000"], ["idt", "--verify-ro"], ["cea", "--verify"], ["gdt"], ["tss"], ["cpu"],
    ["regs"], ["log"], ["bt"], ["bt", "-a"], ["bt", "--all-tasks"], ["bt", "-e"], ["bt", "-a", "-f"], ["ps"],
    ["ptdump"], ["ptdump", "user-pgd"], ["sym", "jiffies"], ["p", "init_mm.pgd"], ["p", "jiffies"],
    ["p", "init_uts_ns.name"],
  ]
  /// Commands compared again without a vmlinux (symbols from kallsyms, types from BTF).
  static let withoutVmlinux: [[String]] = [
    ["vtop", "0xfffffe0000000000"], ["idt", "--verify-ro"], ["cea", "--verify"], ["log"], ["bt"], ["ps"],
    ["p", "init_mm.pgd"],
  ]
  /// `info` lines that describe the file itself.
  static let fileLines = ["DUMPFILE:", "FORMAT:", "DUMP SIZE:", "DUMPED MEMORY:"]

  static func run(_ args: [String], _ dump: String, _ mode: [String]) throws -> String {
    let r = try KdigProcess.run(args + ["--dump", dump] + mode)
    // The file's name is in errors, and in ps lines that say a page was excluded.
    return "exit \(r.status)\n\(r.stdout)\(r.stderr)".replacingOccurrences(of: dump, with: "DUMP")
  }

  @Test(arguments: ExtractSamples.names)
  func everyCommandAgrees(_ name: String) throws {
    let sample = try Samples.named(name).require()
    let extract = try Extracts.of(sample)
    for mode in [["--vmlinux", sample.vmlinux], ["--no-vmlinux"]] {
      if mode == ["--no-vmlinux"] && !sample.vmcoreinfo { continue }
      for args in mode == ["--no-vmlinux"] ? Self.withoutVmlinux : Self.commands {
        let original = try Self.run(args, sample.file, mode)
        let extracted = try Self.run(args, extract.path, mode)
        #expect(original == extracted, "\(name) \(args.joined(separator: " ")) \(mode.first ?? "")")
      }
      let info = { (dump: String) throws -> [String] in
        try Self.run(["info"], dump, mode).split(separator: "\n").map(String.init).filter { line in
          !Self.fileLines.contains { line.trimmingCharacters(in: .whitespaces).hasPrefix($0) }
        }
      }
      #expect(try info(sample.file) == info(extract.path), "\(name) info")
    }
  }

  @Test(arguments: ExtractSamples.names)
  func smallAndQuick(_ name: String) throws {
    let sample = try Samples.named(name).require()
    let extract = try Extracts.of(sample)
    #expect(extract.fileSize <= 8 << 20, "\(name): \(extract.fileSize) bytes")
    #expect(extract.pages > 1000)
    let info = try KdigProcess.run(["info", "--dump", extract.path, "--vmlinux", sample.vmlinux])
    #expect(info.stdout.contains("kdig extract (from \(sample.format)"), "\(info.stdout)")
    #expect(info.stdout.contains("dump level 31"))
    // A page kdig never read reads as excluded, naming the file.
    let rd = try KdigProcess.run(["rd", "-p", "0x1000", "--dump", extract.path, "--vmlinux", sample.vmlinux])
    #expect(rd.status == 2 && rd.stderr.contains("excluded"), "\(rd.stderr)")
  }

  /// The extract of an extract keeps the same pages: everything the analyses read is there.
  @Test func extractOfExtractIsTheSame() throws {
    let sample = try Samples.named("6.12-qemu-elf").require()
    let extract = try Extracts.of(sample)
    let dir = try TemporaryDirectory("extract2")
    let again = "\(dir.path)/again.kdump"
    let r = try KdigProcess.run(["extract", "--dump", extract.path, "--vmlinux", sample.vmlinux, "-o", again, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let pages = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
      .flatMap { $0["result"] as? [String: Any] }?["pages"] as? Int
    #expect(pages == extract.pages)
  }
}
