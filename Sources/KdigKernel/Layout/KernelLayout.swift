// Where the kernel is in the dumped machine: KASLR offset, phys_base, the kernel page-table
// root and the paging mode, each with how it was found.

import KdigTranslation

/// The kernel's placement, found by `KernelLocator`.
public struct KernelLayout: Sendable {
  /// Runtime `_text` − link-time `_text` (kaslr_offset()).
  public var kaslrOffset: Found<UInt64>
  /// phys_base: physical address of the kernel image minus its link-time offset.
  public var physBase: Found<UInt64>
  /// Physical address of the kernel's top-level page table (init_top_pgt).
  public var rootTable: Found<UInt64>
  public var pagingMode: Found<PagingMode>
  /// Memory-encryption bits that are not address bits (sme_me_mask).
  public var encryptionMask: Found<UInt64>

  /// __pa_symbol(): physical address of a kernel-image virtual address (page_64.h
  /// __phys_addr_nodebug: x - __START_KERNEL_map + phys_base).
  public func physicalAddress(ofKernelImage address: UInt64) -> UInt64 {
    address &- KernelConstants.startKernelMap &+ physBase.value
  }
}
