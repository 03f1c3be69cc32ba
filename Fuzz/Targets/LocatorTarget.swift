// Placing the kernel with a vmlinux and no VMCOREINFO, as crash's calc_kaslr_offset does
// (kaslr_helper.c): a kdump ELF's kernel-text PT_LOAD against the vmlinux's _text, or a QEMU
// core's CPU state — CR3 walked for the first mapped page of the kernel map, then IDTR's
// vector 0 against asm_exc_divide_error, each offset accepted only when linux_banner reads
// back at it. Page-table walks over the input's memory, so the paths `elf-core` cannot reach
// without a vmlinux.
//
// Input: an ELF core (as `elf-core`). The vmlinux is the tiny seed vmlinux
// (Fuzz/Seeds/vmlinux/tiny-vmlinux: _text, linux_banner, idt_table, init_top_pgt,
// asm_exc_divide_error), opened once.

import KdigBinary
import KdigDump
import KdigKernel
import KdigTranslation

enum LocatorTarget {
  static let vmlinuxPath = FuzzCorpus.repositoryRoot + "/Fuzz/Seeds/vmlinux/tiny-vmlinux"

  nonisolated(unsafe) static var vmlinux: Result<VmlinuxFile, any Error> = Result {
    try VmlinuxFile(path: vmlinuxPath, keepsSymbolIndex: false)
  }

  /// The layout `bytes` place the kernel at (for the seeds' tests), or the error that stopped it.
  static func locate(_ bytes: [UInt8]) throws -> (KernelLayout, ElfCoreDump) {
    let source = FuzzByteSource(bytes)
    let dump = try ElfCoreDump(source: source, path: source.name, fileSize: source.size)
    let info = dump.notes.vmcoreinfo.map { VMCoreInfo(text: $0) }
    return (try KernelLocator(dump: dump, vmcoreinfo: info, vmlinux: try vmlinux.get()).locate(), dump)
  }

  static func run(_ bytes: [UInt8]) throws {
    let (layout, dump) = try locate(bytes)
    // What a session does next: the kernel's text through the root just found.
    let walker = PageTableWalker(
      memory: dump, mode: layout.pagingMode.value, encryptionMask: layout.encryptionMask.value)
    _ = try walker.walk(0xffff_ffff_8100_0000 &+ layout.kaslrOffset.value, root: layout.rootTable.value)
  }
}
