// The W^X and PTI user-table audits of `kdig check` on patched copies of a real vmcore (6.12
// QEMU ELF, PTI on): each attack gives exactly its finding; the untouched copy none.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite(.serialized) struct MappingAuditTamperTests {
  let sample: Sample
  let copy: PatchableDump
  let kernel: KernelImage
  let elf: ElfCoreDump

  init() throws {
    sample = try Samples.named("6.12-qemu-elf").require()
    // One copy for the whole (serialized) suite: each test restores what it patched.
    copy = try PatchableCopy.shared(copying: sample.file, key: "MappingAuditTamperTests")
    let session = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux)
    kernel = session.kernel
    elf = try #require(session.dump as? ElfCoreDump)
  }

  func offset(_ pa: UInt64) throws -> UInt64 { try #require(elf.fileOffset(ofPhysical: pa)) }
  func bytes(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

  /// Error finding ids of the wx and pti sections on the patched copy.
  func findings(_ patches: [(UInt64, [UInt8])]) throws -> [String] {
    try copy.with(patches) {
      let k = try Session(dumpPath: copy.path, vmlinuxPath: sample.vmlinux).kernel
      let audit = KernelMappingAudit(kernel: k)
      return (audit.writableExecutable().findings + audit.ptiUserTables().findings).filter { $0.severity == .error }.map(\.code)
    }
  }

  @Test func untouchedCopyIsClean() throws {
    #expect(try findings([]) == [])
  }

  @Test func executableKernelDataIsWX() throws {
    // init_task's page in the kernel image mapping is RW NX: clear NX on its leaf.
    let t = try kernel.kernelSpace.walk(try kernel.lookup("init_task").address)
    #expect(t.permissions.writable && !t.permissions.executable)
    let entry = try #require(t.steps.last).entryAddress
    let ids = try findings([(try offset(entry), bytes(t.leaf.raw & ~(1 << 63)))])
    #expect(Set(ids) == ["wx.kernel-mapping"], "\(ids)")
  }

  @Test func userTablesMappingKernelDataLeak() throws {
    // The user PGD gets the kernel PGD's entry for vmemmap (every struct page): the direct
    // map's entry is taken already (the user tables map each CPU's cpu_tss_rw page there).
    let root = kernel.layout.rootTable.value
    let vmemmap = kernel.memoryMap(pti: false).vmemmapBase.value
    let index = UInt64((vmemmap >> 39) & 0x1ff)
    let kernelEntry = try kernel.memory.bytes(at: root + index * 8, count: 8)
    let userSlot = root + 0x1000 + index * 8
    #expect(try kernel.memory.bytes(at: userSlot, count: 8) == [0, 0, 0, 0, 0, 0, 0, 0])
    let ids = try findings([(try offset(userSlot), kernelEntry)])
    #expect(Set(ids) == ["pti.user-maps-kernel"], "\(ids)")
  }

  @Test func commandLineCheckExitsOne() throws {
    let t = try kernel.kernelSpace.walk(try kernel.lookup("init_task").address)
    let entry = try #require(t.steps.last).entryAddress
    let r = try copy.with([(try offset(entry), bytes(t.leaf.raw & ~(1 << 63)))]) {
      try KdigProcess.run(["check", "--json", "--vmlinux", sample.vmlinux, copy.path])
    }
    #expect(r.status == 1, "\(r.stderr)")
    #expect(r.stdout.contains("\"wx.kernel-mapping\""))
  }
}
