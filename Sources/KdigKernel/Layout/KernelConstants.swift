// Fixed x86-64 kernel virtual-memory constants (arch/x86/include/asm/page_64_types.h,
// pgtable_64_types.h; Documentation/arch/x86/x86_64/mm.rst).

/// x86-64 kernel address-space constants.
public enum KernelConstants {
  /// __START_KERNEL_map: the kernel image mapping starts here.
  public static let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
  /// __START_KERNEL (__START_KERNEL_map + __PHYSICAL_START 0x1000000): `_text` without KASLR.
  public static let startKernel: UInt64 = 0xffff_ffff_8100_0000
  /// KERNEL_IMAGE_SIZE with KASLR (1 GiB): the window searched for the kernel image.
  public static let kernelImageSize: UInt64 = 0x4000_0000
  /// __PAGE_OFFSET_BASE_L4 / _L5 (not randomized, 4.20+).
  public static func defaultPageOffset(_ fiveLevel: Bool) -> UInt64 {
    fiveLevel ? 0xff11_0000_0000_0000 : 0xffff_8880_0000_0000
  }
  /// __VMALLOC_BASE_L4 / _L5.
  public static func defaultVmallocBase(_ fiveLevel: Bool) -> UInt64 {
    fiveLevel ? 0xffa0_0000_0000_0000 : 0xffff_c900_0000_0000
  }
  /// __VMEMMAP_BASE_L4 / _L5.
  public static func defaultVmemmapBase(_ fiveLevel: Bool) -> UInt64 {
    fiveLevel ? 0xffd4_0000_0000_0000 : 0xffff_ea00_0000_0000
  }
  /// CPU_ENTRY_AREA_BASE (also CPU_ENTRY_AREA_RO_IDT).
  public static let cpuEntryAreaBase: UInt64 = 0xffff_fe00_0000_0000

  /// True for addresses of the kernel image mapping (text, data, bss): these move with KASLR.
  public static func isKernelImage(_ address: UInt64) -> Bool {
    address >= startKernelMap && address - startKernelMap < kernelImageSize
  }
}
