// Finds the kernel in a dump, the way the kernel defines the values and crash finds them:
// from VMCOREINFO when the dump has it (arch/x86/kernel/vmcore_info_64.c), else from the ELF
// kernel-text segment (kdump), else from the CPU notes' CR3 and IDTR with the vmlinux
// (crash kaslr_helper.c calc_kaslr_offset: page-table scan of the kernel map, then IDT).

import KdigBinary
import KdigDump
import KdigMemory
import KdigTranslation
import KdigX86

/// Derives a `KernelLayout` from what the dump and the vmlinux offer.
public struct KernelLocator {
  let memory: any PhysicalMemory
  let notes: DumpNotes
  let vmcoreinfo: VMCoreInfo?
  let vmlinux: VmlinuxFile?
  let elfTextSegment: (vaddr: UInt64, paddr: UInt64, size: UInt64)?
  let path: String

  public init(dump: any DumpFile, vmcoreinfo: VMCoreInfo?, vmlinux: VmlinuxFile?) {
    memory = dump
    notes = dump.notes
    self.vmcoreinfo = vmcoreinfo
    self.vmlinux = vmlinux
    elfTextSegment = (dump as? ElfCoreDump)?.kernelTextSegment
    path = dump.path
  }

  public func locate() throws -> KernelLayout {
    if let info = vmcoreinfo, let layout = try fromVMCoreInfo(info) { return layout }
    if let layout = try fromTextSegment() { return layout }
    if let layout = try fromCPUState() { return layout }
    throw KernelImageError(
      .cannotLocateKernel,
      "\(path): cannot locate the kernel: the dump has no VMCOREINFO"
        + (vmlinux == nil ? " and no vmlinux was found (give one with --vmlinux)" : " and no usable CPU state"))
  }

  // MARK: - VMCOREINFO

  func fromVMCoreInfo(_ info: VMCoreInfo) throws -> KernelLayout? {
    let physBase: Found<UInt64>
    if let n = info.number("phys_base") {
      physBase = Found(UInt64(bitPattern: n), "VMCOREINFO NUMBER(phys_base)")
    } else if let seg = elfTextSegment {
      physBase = Found(seg.paddr &- (seg.vaddr &- KernelConstants.startKernelMap), "ELF kernel-text PT_LOAD")
    } else {
      return nil
    }
    let kaslr: Found<UInt64>
    if let k = info.kernelOffset {
      kaslr = Found(k, "VMCOREINFO KERNELOFFSET")
    } else if let stext = info.symbol("_stext"), let link = try vmlinux?.symbols().first("_stext") {
      kaslr = Found(stext &- link.value, "VMCOREINFO SYMBOL(_stext) - vmlinux _stext")
    } else {
      kaslr = Found(0, "no KERNELOFFSET in VMCOREINFO: assumed 0")
    }
    let rootSymbol: Found<UInt64>
    if let r = info.symbol("init_top_pgt") {
      rootSymbol = Found(r, "VMCOREINFO SYMBOL(init_top_pgt)")
    } else if let r = info.symbol("swapper_pg_dir") {
      rootSymbol = Found(r, "VMCOREINFO SYMBOL(swapper_pg_dir)")
    } else if let link = try vmlinux?.symbols().first("init_top_pgt") {
      rootSymbol = Found(link.value &+ kaslr.value, "vmlinux init_top_pgt + KASLR offset")
    } else {
      return nil
    }
    let root = rootSymbol.value &- KernelConstants.startKernelMap &+ physBase.value
    var mode = Found(PagingMode.fourLevel, "default (no NUMBER(pgtable_l5_enabled))")
    if let l5 = info.number("pgtable_l5_enabled") {
      mode = Found(l5 != 0 ? .fiveLevel : .fourLevel, "VMCOREINFO NUMBER(pgtable_l5_enabled)=\(l5)")
    } else if let cpu = notes.qemuCPUs.first {
      mode = Found(cpu.la57 ? .fiveLevel : .fourLevel, "CR4.LA57 of CPU 0 (QEMU note)")
    }
    let sme = info.number("sme_mask").map { Found(UInt64(bitPattern: $0), "VMCOREINFO NUMBER(sme_mask)") }
      ?? Found(0, "no NUMBER(sme_mask): assumed 0")
    return KernelLayout(
      kaslrOffset: kaslr, physBase: physBase,
      rootTable: Found(root, "\(rootSymbol.how) - __START_KERNEL_map + phys_base"),
      pagingMode: mode, encryptionMask: sme)
  }

  // MARK: - kdump ELF without VMCOREINFO

  func fromTextSegment() throws -> KernelLayout? {
    guard let seg = elfTextSegment, let vmlinux,
      let text = try vmlinux.symbols().first("_text"),
      let pgt = try vmlinux.symbols().first("init_top_pgt")
    else { return nil }
    let kaslr = seg.vaddr &- text.value
    let physBase = seg.paddr &- (seg.vaddr &- KernelConstants.startKernelMap)
    let root = pgt.value &+ kaslr &- KernelConstants.startKernelMap &+ physBase
    return KernelLayout(
      kaslrOffset: Found(kaslr, "ELF kernel-text PT_LOAD p_vaddr - vmlinux _text"),
      physBase: Found(physBase, "ELF kernel-text PT_LOAD p_paddr - (p_vaddr - __START_KERNEL_map)"),
      rootTable: Found(root, "vmlinux init_top_pgt + KASLR offset - __START_KERNEL_map + phys_base"),
      pagingMode: Found(.fourLevel, "assumed 4-level (no VMCOREINFO, no CR4)"),
      encryptionMask: Found(0, "assumed 0 (no VMCOREINFO)"))
  }

  // MARK: - CPU state (QEMU notes) without VMCOREINFO

  func fromCPUState() throws -> KernelLayout? {
    guard let vmlinux, let cpu = notes.qemuCPUs.first(where: { $0.cr3 != 0 }) else { return nil }
    let symbols = try vmlinux.symbols()
    guard let text = symbols.first("_text") else { return nil }
    let mode: PagingMode = cpu.la57 ? .fiveLevel : .fourLevel
    let walker = PageTableWalker(memory: memory, mode: mode)
    // PCID bits 0-11 and the PTI user-PGD bit 12 are not part of the kernel PGD address.
    let root = cpu.cr3 & ~UInt64(0x1fff) & 0x000f_ffff_ffff_f000
    let how = "CR3 of CPU \(notes.qemuCPUs.firstIndex(where: { $0.cr3 != 0 }) ?? 0) & ~0x1fff (PCID and PTI bits masked)"
    let modeHow = "CR4.LA57 of the same CPU"
    if let (va, pa) = firstKernelMapping(walker: walker, root: root), verifyBanner(walker, root, va &- text.value) {
      let kaslr = va &- text.value
      let physBase = pa &- (va &- KernelConstants.startKernelMap)
      return KernelLayout(
        kaslrOffset: Found(kaslr, "first mapped page of the kernel map (walked from CR3) - vmlinux _text"),
        physBase: Found(physBase, "physical address of that page - (its VA - __START_KERNEL_map)"),
        rootTable: Found(root, how), pagingMode: Found(mode, modeHow),
        encryptionMask: Found(0, "assumed 0 (no VMCOREINFO)"))
    }
    if let (kaslr, physBase) = fromIDT(cpu: cpu, walker: walker, root: root, symbols: symbols) {
      return KernelLayout(
        kaslrOffset: Found(kaslr, "IDT vector 0 handler (IDTR walked from CR3) - vmlinux asm_exc_divide_error"),
        physBase: Found(physBase, "physical address of the IDTR page - (idt_table - __START_KERNEL_map)"),
        rootTable: Found(root, how), pagingMode: Found(mode, modeHow),
        encryptionMask: Found(0, "assumed 0 (no VMCOREINFO)"))
    }
    return nil
  }

  /// The first present 2 MiB-aligned page in the kernel image window (crash find_kernel_start).
  func firstKernelMapping(walker: PageTableWalker, root: UInt64) -> (UInt64, UInt64)? {
    var va = KernelConstants.startKernelMap
    while va < KernelConstants.startKernelMap &+ KernelConstants.kernelImageSize {
      if let t = try? walker.walk(va, root: root) { return (va, t.physicalAddress) }
      va &+= 1 << 21
    }
    return nil
  }

  /// True when linux_banner at its relocated address reads as the vmlinux's own banner.
  func verifyBanner(_ walker: PageTableWalker, _ root: UInt64, _ kaslr: UInt64) -> Bool {
    guard let vmlinux, let banner = try? vmlinux.symbols().first("linux_banner"),
      let expected = vmlinux.string(atLinkAddress: banner.value, limit: 64), !expected.isEmpty,
      let t = try? walker.walk(banner.value &+ kaslr, root: root),
      let got = try? memory.bytes(at: t.physicalAddress, count: expected.utf8.count)
    else { return false }
    return got.elementsEqual(expected.utf8)
  }

  /// crash calc_kaslr_offset_from_idt: vector 0's handler against the vmlinux symbol.
  func fromIDT(cpu: QEMUCPUState, walker: PageTableWalker, root: UInt64, symbols: SymbolTable)
    -> (UInt64, UInt64)?
  {
    guard let handlerSymbol = symbols.first("asm_exc_divide_error") ?? symbols.first("divide_error"),
      let idt = symbols.first("idt_table"),
      let t = try? walker.walk(cpu.idt.base, root: root),
      let bytes = try? memory.bytes(at: t.physicalAddress, count: GateDescriptor.size),
      let gate = try? GateDescriptor(bytes: bytes)
    else { return nil }
    let kaslr = gate.handler &- handlerSymbol.value
    guard kaslr & 0xfff == 0, verifyBanner(walker, root, kaslr) else { return nil }
    let physBase = t.physicalAddress &- (cpu.idt.base & 0xfff) &- (idt.value &+ kaslr &- KernelConstants.startKernelMap)
    return (kaslr, physBase)
  }
}
