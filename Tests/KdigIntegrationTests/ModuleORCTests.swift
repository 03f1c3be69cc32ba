// Module ORC tables read from the dump (struct module's arch.orc_*): on every sample with
// loaded modules, each table is sorted as unwind_module_init sorts it, covers the module's
// text, and its entries decode to ORC frame types the kernel writes.

import Foundation
import Kdig
import KdigTestSupport
import KdigX86
import Testing

@Suite struct ModuleORCTests {
  @Test func everyLoadedModuleHasASortedTableCoveringItsText() throws {
    var modules = 0
    for s in Samples.forTests {
      let sample = try s.require()
      let kernel = try Session(dumpPath: sample.file, vmlinuxPath: sample.vmlinux).kernel
      let texts = try ModuleList(kernel: kernel).texts()
      let tables = kernel.moduleORCTables()
      #expect(tables.count == texts.count, "\(s.name): \(tables.map(\.module)) vs \(texts.map(\.name))")
      for t in tables {
        modules += 1
        var previous: UInt64 = 0
        for i in 0..<t.count {
          let ip = try t.ip(i, kernel)
          #expect(ip >= previous, "\(s.name) \(t.module): entry \(i) out of order")
          previous = ip
        }
        let first = try #require(try t.entry(for: t.textStart, kernel), "\(s.name) \(t.module): no entry for its text")
        #expect(first.type != .undefined, "\(s.name) \(t.module)")
        for probe in stride(from: t.textStart, to: t.textEnd, by: 64) {
          let e = try #require(try t.entry(for: probe, kernel))
          #expect([.call, .regs, .regsPartial, .endOfStack, .undefined].contains(e.type))
        }
      }
    }
    // The 6.12 kdump samples load qemu_fw_cfg (their guest's modules.order).
    #expect(modules > 0, "no sample has a loaded module: the test proved nothing")
  }
}
