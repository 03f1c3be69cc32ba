// The page-table walker on every real sample: the read-only IDT alias, PTI's user page
// tables, task and CPU address spaces, and the kernel's own boot-time W+X check.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct TranslationTests {
  func open(_ sample: Sample) throws -> (Sample, Session) {
    let s = try sample.require()
    return (s, try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux))
  }

  @Test(arguments: Samples.forTests)
  func readOnlyIDTAliasMapsTheIDTFrame(sample: Sample) throws {
    let (s, session) = try open(sample)
    let k = session.kernel
    let vtop = VtopAnalyzer(kernel: k)
    let space = try k.resolve(.kernel, userPGD: false)
    let alias = vtop.translate(KernelConstants.cpuEntryAreaBase, in: space)
    let idt = vtop.translate(try k.lookup("idt_table").address, in: space)
    let aliasPA = try #require(alias.physical, "\(s.name): \(alias.error ?? "")")
    #expect(aliasPA.value == idt.physical?.value)
    // __pa_symbol(idt_table), computed with phys_base, is the same frame.
    #expect(aliasPA.value == k.layout.physicalAddress(ofKernelImage: try k.lookup("idt_table").address))
    let leaf = try #require(alias.steps.last)
    #expect(leaf.entry.value & 0x2 == 0, "the CEA IDT alias is writable")
    #expect(leaf.entry.value >> 63 == 1, "the CEA IDT alias is executable")
    #expect(leaf.entry.value & 0x100 != 0, "the CEA IDT alias is not global")
    #expect(alias.permissions?.writable == false)
    #expect(Set(["PRESENT", "GLOBAL", "NX"]).isSubset(of: Set(alias.crashFlags)))
    if let drgn = s.drgn, drgn.opened {
      let follow = drgn.json["follow_phys"] as? [String: Any]
      #expect(hexString(follow?["0xfffffe0000000000"]) == aliasPA.value, "drgn follow_phys disagrees")
    }
  }

  @Test(arguments: Samples.forTests)
  func ptiUserPageTablesMapOnlyTheEntryArea(sample: Sample) throws {
    let (s, session) = try open(sample)
    let k = session.kernel
    let pti = try #require(k.memoryMap().pti).value
    let vtop = VtopAnalyzer(kernel: k)
    let user = try k.resolve(.kernel, userPGD: true)
    let alias = vtop.translate(KernelConstants.cpuEntryAreaBase, in: user, withPage: false)
    let idt = vtop.translate(try k.lookup("idt_table").address, in: user, withPage: false)
    if pti {
      #expect(alias.physical != nil, "\(s.name): PTI user tables do not map the IDT alias: \(alias.error ?? "")")
      #expect(idt.physical == nil, "\(s.name): PTI user tables map idt_table's kernel address")
    } else {
      #expect(alias.physical == nil, "\(s.name): no PTI, yet the user half of init_top_pgt maps something")
    }
  }

  @Test(arguments: Samples.forTests)
  func noWritableExecutableMappingsAsTheKernelChecked(sample: Sample) throws {
    let (s, session) = try open(sample)
    let log = String(decoding: FileManager.default.contents(atPath: s.console_log ?? "") ?? Data(), as: UTF8.self)
    #expect(log.contains("Checked W+X mappings: passed"), "\(s.name): the kernel's own W+X check did not pass")
    let dumper = PageTableDump(kernel: session.kernel)
    let kernelHalf = dumper.dump(space: try session.kernel.resolve(.kernel, userPGD: false), from: 1 << 63, to: 0)
    #expect(kernelHalf.writableExecutableRanges == 0, "\(kernelHalf.ranges.filter(\.writableExecutable).map(\.start))")
    #expect(kernelHalf.ranges.count > 20)
    let userCopy = dumper.dump(space: try session.kernel.resolve(.kernel, userPGD: true), from: 0, to: 0)
    #expect(userCopy.writableExecutableRanges == 0)
  }

  @Test(arguments: Samples.forTests)
  func taskAndCPUSpacesShareTheKernelHalf(sample: Sample) throws {
    let (s, session) = try open(sample)
    let k = session.kernel
    let vtop = VtopAnalyzer(kernel: k)
    let banner = try k.lookup("linux_banner").address
    let expected = vtop.translate(banner, in: try k.resolve(.kernel, userPGD: false), withPage: false).physical
    #expect(expected != nil)
    let tasks = try TaskList(kernel: k).all()
    #expect(tasks.first?.pid == 0 && tasks.first?.mm.value == 0, "init_task heads the list")
    let user = try #require(tasks.first { $0.mm.value != 0 }, "\(s.name): no user task")
    let space = try k.resolve(.task("\(user.pid)"), userPGD: false)
    #expect(vtop.translate(banner, in: space, withPage: false).physical == expected)
    let kthread = try #require(tasks.first { $0.pid != 0 && $0.mm.value == 0 })
    #expect(throws: AddressSpaceError.self) { try k.resolve(.task("\(kthread.pid)"), userPGD: false) }
    for cpu in 0..<k.notes.qemuCPUs.count {
      let cs = try k.resolve(.cpu(cpu), userPGD: false)
      let t = vtop.translate(banner, in: cs, withPage: false)
      // A CPU caught in user mode with PTI runs on the user PGD, which does not map linux_banner.
      if cs.userPGD { #expect(t.physical == nil) } else { #expect(t.physical == expected, "CPU \(cpu) \(cs.description)") }
    }
  }
}
