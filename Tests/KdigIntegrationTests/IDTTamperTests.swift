// Attacks on the IDT, made by patching the bytes of a copy of a real vmcore (6.12 QEMU ELF):
// each must be detected with the right finding, and nothing else may be flagged.

import Foundation
import Kdig
import KdigTestSupport
import KdigX86
import Testing

/// The tampering suites' patchable copy (Tests/KdigTestSupport/PatchableCopy.swift).
typealias PatchableDump = PatchableCopy

@Suite(.serialized) struct IDTTamperTests {
  let sample: Sample
  let copy: PatchableDump
  let kernel: KernelImage
  let elf: ElfCoreDump
  let idtPA: UInt64

  init() throws {
    sample = try Samples.named("6.12-qemu-elf").require()
    // One copy for the whole (serialized) suite: each test restores what it patched.
    copy = try PatchableCopy.shared(copying: sample.file, key: "IDTTamperTests")
    let session = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux)
    kernel = session.kernel
    elf = try #require(session.dump as? ElfCoreDump)
    idtPA = try kernel.kernelSpace.translate(try kernel.lookup("idt_table").address)
  }

  /// File offset of physical `pa`.
  func offset(_ pa: UInt64) throws -> UInt64 { try #require(elf.fileOffset(ofPhysical: pa)) }

  /// The gate of `vector` as in the dump.
  func gate(_ vector: Int) throws -> GateDescriptor {
    try GateDescriptor(bytes: try copy.read(try offset(idtPA + UInt64(vector * 16)), 16))
  }

  /// A patch replacing `vector`'s gate.
  func gatePatch(_ vector: Int, _ g: GateDescriptor) throws -> (UInt64, [UInt8]) {
    (try offset(idtPA + UInt64(vector * 16)), g.encode())
  }

  /// A patch OR-ing `bits` into the leaf entry that maps `va`.
  func leafPatch(_ va: UInt64, set bits: UInt64 = 0, frame: UInt64? = nil) throws -> (UInt64, [UInt8]) {
    let t = try kernel.kernelSpace.walk(va)
    var raw = t.leaf.raw | bits
    if let frame { raw = (raw & ~0x000f_ffff_ffff_f000) | frame }
    let entry = try #require(t.steps.last).entryAddress
    return (try offset(entry), withUnsafeBytes(of: raw.littleEndian) { Array($0) })
  }

  /// Opens the patched copy and verifies it; returns the error findings as "code@vector".
  func verify() throws -> (errors: Set<String>, report: IDTReport) {
    let session = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux)
    let report = try IDTVerifier(kernel: session.kernel).verify()
    let errors = Set(report.findings.filter { $0.severity == .error }.map { "\($0.code)@\($0.vector.map(String.init) ?? "-")" })
    return (errors, report)
  }

  func expectOnly(_ expected: Set<String>, _ patches: [(UInt64, [UInt8])], _ what: String) throws {
    let (errors, report) = try copy.with(patches) { try verify() }
    #expect(errors == expected, "\(what): \(report.findings.filter { $0.severity == .error }.map(\.message))")
    #expect(report.summary.hasPrefix("IDT FINDINGS"), "\(what): \(report.summary)")
  }

  @Test func untouchedCopyIsClean() throws {
    let (errors, report) = try verify()
    #expect(errors.isEmpty, "\(report.findings.map(\.message))")
  }

  @Test func hookedExceptionHandler() throws {
    var g = try gate(14)
    g = GateDescriptor(handler: 0xffff_c900_dead_0000, selector: g.selector, ist: g.ist, type: g.type, dpl: g.dpl, present: true)
    try expectOnly(["idt.handler-hooked@14"], [try gatePatch(14, g)], "#PF hooked into vmalloc space")
  }

  @Test func handlerRedirectedInsideKernelText() throws {
    let other = try kernel.lookup("asm_exc_divide_error").address
    let g0 = try gate(6)
    let g = GateDescriptor(handler: other, selector: g0.selector, ist: g0.ist, type: g0.type, dpl: g0.dpl, present: true)
    try expectOnly(["idt.handler-changed@6"], [try gatePatch(6, g)], "#UD redirected to asm_exc_divide_error")
  }

  @Test func handlerMovedIntoModuleText() throws {
    let module = try #require(try ModuleList(kernel: kernel).texts().first)
    let g0 = try gate(14)
    let g = GateDescriptor(handler: module.start.value + 0x40, selector: g0.selector, ist: g0.ist, type: g0.type, dpl: g0.dpl, present: true)
    try expectOnly(["idt.handler-in-module@14"], [try gatePatch(14, g)], "#PF into \(module.name)")
  }

  @Test func gateAttributesChanged() throws {
    let pf = try gate(14)
    let nmi = try gate(2)
    let de = try gate(0)
    func with(_ g: GateDescriptor, selector: SegmentSelector? = nil, ist: Int? = nil, type: GateType? = nil, dpl: Int? = nil, present: Bool? = nil) -> GateDescriptor {
      GateDescriptor(handler: g.handler, selector: selector ?? g.selector, ist: ist ?? g.ist, type: type ?? g.type, dpl: dpl ?? g.dpl, present: present ?? g.present)
    }
    try expectOnly(["idt.dpl@14"], [try gatePatch(14, with(pf, dpl: 3))], "#PF callable from user space")
    try expectOnly(["idt.ist@2"], [try gatePatch(2, with(nmi, ist: 0))], "NMI off its IST stack")
    try expectOnly(["idt.gate-type@14"], [try gatePatch(14, with(pf, type: .trap))], "#PF as a trap gate")
    try expectOnly(["idt.selector@0"], [try gatePatch(0, with(de, selector: .userCS))], "#DE with __USER_CS")
    try expectOnly(["idt.not-present@0"], [try gatePatch(0, with(de, present: false))], "#DE not present")
    var reserved = de.encode()
    reserved[12] = 0x41
    try expectOnly(["idt.reserved-bits@0"], [(try offset(idtPA), reserved)], "#DE reserved dword set")
  }

  @Test func irqStubPushesAnotherVector() throws {
    let model = try IDTModel(kernel: kernel)
    let stub = try #require(model.gates.first { $0.vector == 0x30 && $0.source == .irqStub })
    let bytes = try kernel.kernelSpace.bytes(at: stub.handler.value, count: model.stubSize)
    let push = try #require(bytes.firstIndex(of: 0x6a))
    #expect(bytes[push + 1] == 0x30)
    let pa = try kernel.kernelSpace.translate(stub.handler.value) + UInt64(push + 1)
    try expectOnly(["idt.stub@48"], [(try offset(pa), [0x31])], "stub for 0x30 pushes 0x31")
  }

  @Test func writableMappings() throws {
    let table = try kernel.lookup("idt_table").address
    try expectOnly(["idt.cea-alias@-"], [try leafPatch(0xffff_fe00_0000_0000, set: 0x2)], "writable CEA alias")
    try expectOnly(["idt.idt-table-writable@-"], [try leafPatch(table, set: 0x2)], "writable idt_table mapping")
    let direct = kernel.memoryMap(pti: false).pageOffsetBase.value + idtPA
    try expectOnly(["idt.direct-map-alias@-"], [try leafPatch(direct, set: 0x2)], "writable direct-map alias")
  }

  @Test func aliasRemappedToAnotherFrame() throws {
    // The alias now shows a different page (an all-zero one): the frame check and every view
    // through the alias (the CEA read and each CPU's IDTR) must notice.
    let zeroFrame = try #require(kernel.memory.ranges.lazy.compactMap { r -> UInt64? in
      var pa = (r.start + 0xfff) & ~0xfff
      while pa + 0x1000 <= r.end {
        if let b = try? self.kernel.memory.bytes(at: pa, count: 4096), b.allSatisfy({ $0 == 0 }) { return pa }
        pa += 0x1000
      }
      return nil
    }.first)
    let (errors, report) = try copy.with([try leafPatch(0xffff_fe00_0000_0000, frame: zeroFrame)]) { try verify() }
    #expect(errors.contains("idt.cea-alias@-"))
    #expect(errors.contains("idt.views-differ@-"))
    #expect(errors.isSubset(of: ["idt.cea-alias@-", "idt.views-differ@-", "idt.idtr-view-differs@-"]), "\(report.findings.map(\.message))")
  }

  @Test func idtrPointsAtTheWritableMapping() throws {
    // CPU 1's IDTR base moved to idt_table's kernel address (as before idt_map_in_cea).
    let noteOffset = try #require(kernel.notes.qemuCPUOffsets.dropFirst().first)
    let table = try kernel.lookup("idt_table").address
    let patch = (noteOffset + 368 + 16, withUnsafeBytes(of: table.littleEndian) { Array($0) })  // QEMUCPUState.idt.base
    try expectOnly(["idt.idtr@-"], [patch], "CPU 1 IDTR at idt_table")
  }

  @Test func commandLineExitsOneOnFindings() throws {
    var g = try gate(14)
    g = GateDescriptor(handler: 0xffff_c900_dead_0000, selector: g.selector, ist: g.ist, type: g.type, dpl: g.dpl, present: true)
    let r = try copy.with([try gatePatch(14, g)]) {
      try KdigProcess.run(["idt", "--verify-ro", "--json", "--dump", copy.path, "--vmlinux", sample.vmlinux])
    }
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stdout.contains("\"code\" : \"idt.handler-hooked\""))
  }

  @Test func excludedIDTPageIsReportedAndMappingsStillChecked() throws {
    let base = try openDump(path: sample.file)
    let filtered = ExcludingDump(base, excludingFrames: [idtPA >> 12])
    let k = try KernelImage(dump: filtered, vmlinux: try VmlinuxFile(path: sample.vmlinux))
    let report = try IDTVerifier(kernel: k).verify()
    #expect(report.idtPageMissing?.contains("excluded") == true)
    #expect(report.summary.contains("IDT page excluded from this dump"))
    #expect(report.checks.contains { $0.name == "mapping.cea-alias" && $0.status == "passed" })
    #expect(report.checks.contains { $0.name == "handlers" && $0.status == "skipped" })
  }
}
