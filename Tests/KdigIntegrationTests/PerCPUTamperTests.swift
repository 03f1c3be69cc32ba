// Attacks on the per-CPU entry state, made by patching a copy of a real vmcore (6.12 QEMU
// ELF): each must give exactly its finding (errors only), and the untouched copy none.

import Foundation
import Kdig
import KdigTestSupport
import KdigX86
import Testing

@Suite(.serialized) struct PerCPUTamperTests {
  let sample: Sample
  let copy: PatchableDump
  let kernel: KernelImage
  let elf: ElfCoreDump
  let clean: PerCPUReport

  init() throws {
    sample = try Samples.named("6.12-qemu-elf").require()
    // One copy for the whole (serialized) suite: each test restores what it patched.
    copy = try PatchableCopy.shared(copying: sample.file, key: "PerCPUTamperTests")
    let session = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux)
    kernel = session.kernel
    elf = try #require(session.dump as? ElfCoreDump)
    clean = try PerCPUVerifier(kernel: kernel).report()
  }

  var cpu0: CPUEntryState { clean.cpus[0] }

  func offset(_ pa: UInt64) throws -> UInt64 { try #require(elf.fileOffset(ofPhysical: pa)) }

  /// The leaf entry of `va` with `set` bits added, `clear` bits removed, or replaced by `value`.
  func leafPatch(_ va: UInt64, set: UInt64 = 0, clear: UInt64 = 0) throws -> (UInt64, [UInt8]) {
    let t = try kernel.kernelSpace.walk(va)
    let raw = (t.leaf.raw | set) & ~clear
    return (try offset(try #require(t.steps.last).entryAddress), bytes(raw))
  }

  /// Writes `value` at kernel virtual `va` (through its physical page).
  func memoryPatch(_ va: UInt64, _ value: [UInt8]) throws -> (UInt64, [UInt8]) {
    (try offset(try kernel.kernelSpace.translate(va)), value)
  }

  func bytes(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

  func errors(_ patches: [(UInt64, [UInt8])]) throws -> (Set<String>, [String]) {
    try copy.with(patches) {
      let k = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux).kernel
      let r = try PerCPUVerifier(kernel: k).report()
      let e = r.findings.filter { $0.severity == .error }
      return (Set(e.map(\.code)), e.map(\.message))
    }
  }

  func expectOnly(_ code: String, _ patches: [(UInt64, [UInt8])], _ what: String) throws {
    let (codes, messages) = try errors(patches)
    #expect(codes == [code], "\(what): \(messages)")
  }

  func page(_ field: String) throws -> CEAPage { try #require(cpu0.area.pages.first { $0.field == field }) }

  @Test func untouchedCopyIsClean() throws {
    #expect(clean.cpus.count == 2)
    #expect(clean.errors == 0, "\(clean.findings.map(\.message))")
    #expect(clean.summary.hasPrefix("PER-CPU OK"))
  }

  @Test func writableGDTAlias() throws {
    try expectOnly("cea.gdt-writable", [try leafPatch(try page("gdt").virtual.value, set: 2)], "RW bit on the CEA GDT")
  }

  @Test func writableTSSAlias() throws {
    try expectOnly("cea.tss-writable", [try leafPatch(try page("tss").virtual.value, set: 2)], "RW bit on the CEA TSS")
  }

  @Test func executableEntryStack() throws {
    try expectOnly(
      "cea.executable", [try leafPatch(try page("entry_stack_page").virtual.value, clear: 1 << 63)], "NX cleared")
  }

  @Test func guardPageMapped() throws {
    // The DF stack's own PTE copied into its guard page's slot.
    let guardPage = try page("estacks.DF_stack_guard").virtual.value
    let stack = try kernel.kernelSpace.walk(try page("estacks.DF_stack").virtual.value)
    // The walk of the guard page stops at its empty PTE: that slot gets the stack's entry.
    var slot: UInt64?
    do { _ = try kernel.kernelSpace.walk(guardPage) } catch {
      if let last = error.steps.last, last.level == .pte, last.entry.raw == 0 { slot = last.entryAddress }
    }
    let pte = try #require(slot, "the guard page must stop at an empty PTE")
    try expectOnly("cea.guard-mapped", [(try offset(pte), bytes(stack.leaf.raw))], "guard page mapped")
  }

  @Test func istSlotIntoKernelData() throws {
    let tss = try #require(cpu0.tss)
    let backing = try #require(tss.backing).value
    let data = try kernel.lookup("init_task").address
    try expectOnly("tss.ist", [try memoryPatch(backing + 36 + 8, bytes(data))], "IST2 → init_task")
  }

  @Test func sp0PointsAtUserSpace() throws {
    let backing = try #require(cpu0.tss?.backing).value
    try expectOnly("tss.sp0", [try memoryPatch(backing + 4, bytes(0x7fff_dead_0000))], "sp0 → user space")
  }

  @Test func kernelCodeSegmentWithDPL3() throws {
    let gdtPage = try #require(cpu0.gdt?.backing).value
    let cs = SegmentDescriptor(0x00af_9b00_0000_ffff).raw | 3 << 45
    try expectOnly("gdt.segment-dpl", [try memoryPatch(gdtPage + 16, bytes(cs))], "__KERNEL_CS DPL 3")
  }

  @Test func tssDescriptorBaseMoved() throws {
    let g = try #require(cpu0.gdt)
    let gdtPage = try #require(g.backing).value
    let low = g.entries[8].raw.value
    let high = g.entries[9].raw.value
    let d = SystemSegmentDescriptor(low: low, high: high)
    // Move the base by one page: base0 holds bits 15..0, base1 bits 23..16 (bytes 2–4).
    let moved = d.base + 0x1000
    var l = low & ~(0xffff << 16 | 0xff << 32 | 0xff << 56)
    l |= (moved & 0xffff) << 16 | (moved >> 16 & 0xff) << 32 | (moved >> 24 & 0xff) << 56
    let h = (high & ~0xffff_ffff) | moved >> 32
    #expect(SystemSegmentDescriptor(low: l, high: h).base == moved)
    try expectOnly("gdt.tss-base", [try memoryPatch(gdtPage + 64, bytes(l) + bytes(h))], "TSS descriptor base moved")
  }

  @Test func commandLineExitsOneOnFindings() throws {
    let r = try copy.with([try leafPatch(try page("gdt").virtual.value, set: 2)]) {
      try KdigProcess.run(["cea", "--verify", "--json", "--dump", copy.path, "--vmlinux", sample.vmlinux])
    }
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stdout.contains("\"code\" : \"cea.gdt-writable\""))
  }
}
