// Module symbols from each module's own kallsyms (KdigKernel/Modules/ModuleSymbols.swift)
// against drgn 0.3.0's independent reader of the same tables (load_module_kallsyms): every
// symbol drgn lists is found by kdig at its address, with the vmlinux and without it, and
// `sym` names it as crash does, `name [module]`. Before, module addresses were named after
// the vmlinux's last symbol plus a distance.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct ModuleSymbolsTests {
  static let samples = ["6.12-qemu-elf", "6.12-kdump-zlib-d31", "6.12-la57-qemu-elf", "6.1-qemu-elf", "6.1-kdump-elf"]

  @Test(arguments: samples)
  func everyDrgnSymbolIsFound(_ name: String) throws {
    let sample = try Samples.named(name).require()
    let dir = try TemporaryDirectory("module-syms")
    let out = "\(dir.path)/syms.json"
    let run = try BoundedProcess.run(
      try TestTools.python(), [Repository.path("Samples/oracles/module_syms_drgn.py"), sample.file, sample.vmlinux, out],
      timeout: 300)
    #expect(run.status == 0, "\(run)")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any] ?? [:]
    #expect(json["open_error"] is NSNull, "\(json["open_error"] ?? "")")
    let symbols = (json["symbols"] as? [[Any]] ?? []).compactMap { s -> (UInt64, String)? in
      guard let a = s[0] as? String, let v = UInt64(a.dropFirst(2), radix: 16), let n = s[1] as? String else { return nil }
      return (v, n)
    }
    #expect(symbols.count > 50, "\(name): drgn listed \(symbols.count) module symbols")
    let namesAt = Dictionary(grouping: symbols, by: \.0).mapValues { Set($0.map(\.1)) }
    for noVmlinux in [false, true] {
      let kernel = try Session(dumpPath: sample.file, vmlinuxPath: noVmlinux ? nil : sample.vmlinux, noVmlinux: noVmlinux).kernel
      var wrong: [String] = []
      for (address, names) in namesAt {
        guard let found = kernel.moduleSymbol(at: address), found.offset == 0, names.contains(found.symbol.name),
          found.module == "qemu_fw_cfg"
        else {
          wrong.append("\(hex0x(address)) drgn \(names) kdig \(String(describing: kernel.moduleSymbol(at: address)))")
          continue
        }
      }
      #expect(wrong.isEmpty, "\(name) noVmlinux=\(noVmlinux): \(wrong.count) of \(namesAt.count): \(wrong.prefix(3))")
    }
    // `sym` as crash prints it.
    let (address, names) = try #require(namesAt.first { $0.value.contains { !$0.hasPrefix("__pfx") } })
    let sym = try KdigProcess.run(["sym", hex0x(address), "--dump", sample.file, "--vmlinux", sample.vmlinux])
    #expect(names.contains { sym.stdout.contains("\($0) [qemu_fw_cfg]") }, "\(sym.stdout)")
  }
}
