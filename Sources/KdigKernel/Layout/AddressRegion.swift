// Which part of the x86-64 kernel address space an address is in
// (Documentation/arch/x86/x86_64/mm.rst; arch/x86/include/asm/pgtable_64_types.h), using the
// dump's randomized bases.

import KdigTranslation

/// A region of the virtual address space.
public enum AddressRegion: String, Sendable, Codable, CaseIterable {
  case user
  case nonCanonical = "non-canonical"
  case directMap = "direct map"
  case vmalloc
  case vmemmap
  case cpuEntryArea = "cpu_entry_area"
  case espfix = "espfix"
  case efi = "EFI runtime"
  case kernelImage = "kernel image"
  case modules
  case fixmap
  case other = "unused hole"
}

/// The layout of the kernel half for one dump.
public struct KernelRegions: Sendable {
  public var mode: PagingMode
  public var pageOffset: UInt64
  public var vmallocBase: UInt64
  public var vmemmapBase: UInt64

  public init(mode: PagingMode, pageOffset: UInt64, vmallocBase: UInt64, vmemmapBase: UInt64) {
    self.mode = mode
    self.pageOffset = pageOffset
    self.vmallocBase = vmallocBase
    self.vmemmapBase = vmemmapBase
  }

  static let tb: UInt64 = 1 << 40
  /// Region sizes: DIRECT_MAP_PHYSMEM_END span, VMALLOC_SIZE_TB, VMEMMAP size (mm.rst).
  var directMapSize: UInt64 { mode == .fiveLevel ? 32 << 50 : 64 * Self.tb }
  var vmallocSize: UInt64 { mode == .fiveLevel ? 12800 * Self.tb : 32 * Self.tb }
  var vmemmapSize: UInt64 { mode == .fiveLevel ? 1 << 49 : Self.tb }

  /// MODULES_VADDR … MODULES_END.
  public static let modulesStart: UInt64 = 0xffff_ffff_c000_0000
  public static let modulesEnd: UInt64 = 0xffff_ffff_ff00_0000
  /// FIXADDR_TOP for a 4 KiB-page kernel with vsyscall at 0xffffffffff600000.
  public static let fixmapTop: UInt64 = 0xffff_ffff_ff7f_f000

  /// The region `address` belongs to.
  public func region(of address: UInt64) -> AddressRegion {
    guard mode.isCanonical(address) else { return .nonCanonical }
    if address >> 63 == 0 { return .user }
    func within(_ base: UInt64, _ size: UInt64) -> Bool { address >= base && address - base < size }
    if within(pageOffset, directMapSize) { return .directMap }
    if within(vmallocBase, vmallocSize) { return .vmalloc }
    if within(vmemmapBase, vmemmapSize) { return .vmemmap }
    if within(KernelConstants.cpuEntryAreaBase, 1 << 39) { return .cpuEntryArea }
    if within(0xffff_ff00_0000_0000, 1 << 39) { return .espfix }
    if within(0xffff_ffef_0000_0000, 0x10_0000_0000) { return .efi }
    if KernelConstants.isKernelImage(address) { return .kernelImage }
    if address >= Self.modulesStart && address < Self.modulesEnd { return .modules }
    if address >= Self.modulesEnd && address < 0xffff_ffff_ff80_0000 { return .fixmap }
    return .other
  }
}

extension KernelImage {
  /// The region layout of this dump's kernel.
  public func regions(_ map: KernelMemoryMap? = nil) -> KernelRegions {
    let m = map ?? memoryMap(pti: false)
    return KernelRegions(
      mode: layout.pagingMode.value, pageOffset: m.pageOffsetBase.value, vmallocBase: m.vmallocBase.value,
      vmemmapBase: m.vmemmapBase.value)
  }
}
