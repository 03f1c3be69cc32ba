// The IDT attacks of IDTTamperTests, verified without a vmlinux: the expected gates then
// come from the kernel's conventions (IDTConventions) and kallsyms, and each attack must
// still be found, with the same finding as with the vmlinux.

import Foundation
import Kdig
import KdigTestSupport
import KdigX86
import Testing

@Suite(.serialized) struct NoVmlinuxTamperTests {
  let sample: Sample
  let copy: PatchableDump
  let kernel: KernelImage
  let elf: ElfCoreDump
  let idtPA: UInt64

  /// Its own copy (IDTTamperTests patches another one, possibly at the same time).
  init() throws {
    sample = try Samples.named("6.12-qemu-elf").require()
    // One copy for the whole (serialized) suite: each test restores what it patched.
    copy = try PatchableCopy.shared(copying: sample.file, key: "NoVmlinuxTamperTests")
    let session = try Session(dumpPath: copy.path, vmlinuxPath: nil, noVmlinux: true)
    kernel = session.kernel
    elf = try #require(session.dump as? ElfCoreDump)
    idtPA = try kernel.kernelSpace.translate(try kernel.lookup("idt_table").address)
  }

  func offset(_ pa: UInt64) throws -> UInt64 { try #require(elf.fileOffset(ofPhysical: pa)) }

  func gate(_ vector: Int) throws -> GateDescriptor {
    try GateDescriptor(bytes: try copy.read(try offset(idtPA + UInt64(vector * 16)), 16))
  }

  func gatePatch(_ vector: Int, _ g: GateDescriptor) throws -> (UInt64, [UInt8]) {
    (try offset(idtPA + UInt64(vector * 16)), g.encode())
  }

  /// Error findings as "code@vector", with the vmlinux and without.
  func verifyBothWays() throws -> (with: Set<String>, without: Set<String>, report: IDTReport) {
    func errors(_ r: IDTReport) -> Set<String> {
      Set(r.findings.filter { $0.severity == .error }.map { "\($0.code)@\($0.vector.map(String.init) ?? "-")" })
    }
    let full = try IDTVerifier(kernel: try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux).kernel).verify()
    let bare = try IDTVerifier(kernel: try Session(dumpPath: copy.path, vmlinuxPath: nil, noVmlinux: true).kernel).verify()
    return (errors(full), errors(bare), bare)
  }

  func expectCaught(_ expected: Set<String>, _ patches: [(UInt64, [UInt8])], _ what: String) throws {
    let (with, without, report) = try copy.with(patches) { try verifyBothWays() }
    #expect(without == expected, "\(what): \(report.findings.filter { $0.severity == .error }.map(\.message))")
    #expect(without == with, "\(what): without the vmlinux \(without), with it \(with)")
    #expect(report.summary.hasPrefix("IDT FINDINGS"), "\(what): \(report.summary)")
  }

  @Test func untouchedCopyIsCleanAndSaysWhereTheModelCameFrom() throws {
    let (with, without, report) = try verifyBothWays()
    #expect(with.isEmpty && without.isEmpty, "\(report.findings.map(\.message))")
    let handlers = try #require(report.checks.first { $0.name == "handlers" })
    #expect(handlers.status == "passed")
    #expect(handlers.detail.contains("kernel conventions"), "\(handlers.detail)")
  }

  @Test func handlerAttacksAreCaught() throws {
    var pf = try gate(14)
    pf = GateDescriptor(handler: 0xffff_c900_dead_0000, selector: pf.selector, ist: pf.ist, type: pf.type, dpl: pf.dpl, present: true)
    try expectCaught(["idt.handler-hooked@14"], [try gatePatch(14, pf)], "#PF hooked into vmalloc space")
    let de = try kernel.lookup("asm_exc_divide_error").address
    let ud = try gate(6)
    let redirected = GateDescriptor(handler: de, selector: ud.selector, ist: ud.ist, type: ud.type, dpl: ud.dpl, present: true)
    try expectCaught(["idt.handler-changed@6"], [try gatePatch(6, redirected)], "#UD redirected to asm_exc_divide_error")
  }

  @Test func attributeAttacksAreCaught() throws {
    let pf = try gate(14)
    let nmi = try gate(2)
    try expectCaught(
      ["idt.dpl@14"],
      [try gatePatch(14, GateDescriptor(handler: pf.handler, selector: pf.selector, ist: pf.ist, type: pf.type, dpl: 3, present: true))],
      "#PF callable from user space")
    try expectCaught(
      ["idt.ist@2"],
      [try gatePatch(2, GateDescriptor(handler: nmi.handler, selector: nmi.selector, ist: 0, type: nmi.type, dpl: nmi.dpl, present: true))],
      "NMI off its IST stack")
  }

  @Test func stubAndMappingAttacksAreCaught() throws {
    let model = try IDTModel(kernel: kernel)
    let stub = try #require(model.gates.first { $0.vector == 0x30 && $0.source == .irqStub })
    let bytes = try kernel.kernelSpace.bytes(at: stub.handler.value, count: model.stubSize)
    let push = try #require(bytes.firstIndex(of: 0x6a))
    let pa = try kernel.kernelSpace.translate(stub.handler.value) + UInt64(push + 1)
    try expectCaught(["idt.stub@48"], [(try offset(pa), [0x31])], "stub for 0x30 pushes 0x31")
    let t = try kernel.kernelSpace.walk(0xffff_fe00_0000_0000)
    let entry = try #require(t.steps.last).entryAddress
    let writable = withUnsafeBytes(of: (t.leaf.raw | 0x2).littleEndian) { Array($0) }
    try expectCaught(["idt.cea-alias@-"], [(try offset(entry), writable)], "writable CEA alias")
  }
}
