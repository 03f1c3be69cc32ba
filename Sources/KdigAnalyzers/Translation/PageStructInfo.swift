// The struct page of a frame, as crash's vtop shows it (PAGE PHYSICAL MAPPING INDEX CNT
// FLAGS): found in vmemmap (vmemmap_base + pfn × sizeof(struct page)), field offsets from
// VMCOREINFO or DWARF, flag names from the kernel's own pageflag_names table (mm/debug.c).

import KdigBinary
import KdigKernel
import KdigMemory
import KdigTranslation

/// A struct page as vtop prints it.
public struct PageStructInfo: Sendable, Encodable {
  public var address: Hex64
  public var physical: Hex64
  public var mapping: Hex64
  public var index: Hex64
  public var count: Int32
  public var flags: Hex64
  public var flagNames: [String]
}

/// Reads struct pages.
public struct PageStructReader {
  public let kernel: KernelImage
  let map: KernelMemoryMap

  public init(kernel: KernelImage, map: KernelMemoryMap) {
    self.kernel = kernel
    self.map = map
  }

  /// struct page is 64 bytes on x86-64; VMCOREINFO values outside a generous bound are
  /// damage and ignored (a negative one would trap when made an address offset).
  static let structLimit = 1024

  func offset(_ member: String) -> Int? {
    if let o = kernel.vmcoreinfo?.offset("page.\(member)", upTo: Self.structLimit) { return o }
    return (try? kernel.types().offsetof("page.\(member)")).flatMap { (0...Self.structLimit).contains($0) ? $0 : nil }
  }

  /// The struct page of `frame`, or nil when it is not readable.
  public func page(frame: UInt64) -> PageStructInfo? {
    guard let size = kernel.vmcoreinfo?.size("page", upTo: Self.structLimit) ?? (try? kernel.types().sizeof("page")),
      (1...Self.structLimit).contains(size),
      let flagsOff = offset("flags"), let mappingOff = offset("mapping"), let countOff = offset("_refcount")
    else { return nil }
    let indexOff = offset("index")
    let address = map.vmemmapBase.value &+ (frame >> 12) &* UInt64(size)
    let space = kernel.kernelSpace
    guard let flags = try? space.u64(at: address &+ UInt64(flagsOff)),
      let mapping = try? space.u64(at: address &+ UInt64(mappingOff)),
      let count = try? space.integer(Int32.self, at: address &+ UInt64(countOff))
    else { return nil }
    let index = indexOff.flatMap { try? space.u64(at: address &+ UInt64($0)) } ?? 0
    return PageStructInfo(
      address: Hex64(address), physical: Hex64(frame), mapping: Hex64(mapping), index: Hex64(index), count: count,
      flags: Hex64(flags), flagNames: PageFlagNames.names(kernel: kernel, flags: flags))
  }
}

/// The kernel's names for page flags.
public enum PageFlagNames {
  /// Names of the set bits in `flags`, from pageflag_names ({mask, name} pairs ending in
  /// {0, NULL}), read from the vmlinux file or, without one, the dump's own .rodata copy;
  /// lower-case like crash.
  public static func names(kernel: KernelImage, flags: UInt64) -> [String] {
    guard let table = try? kernel.symbols().first("pageflag_names") else { return [] }
    var out: [String] = []
    let entries = Int(min(max(table.size / 16, 1), 128))
    guard let raw = try? kernel.readOnlyBytes(of: table, count: entries * 16) else { return [] }
    for i in 0..<entries {
      var mask: UInt64 = 0
      var name: UInt64 = 0
      for b in 0..<8 {
        mask |= UInt64(raw[i * 16 + b]) << (8 * UInt64(b))
        name |= UInt64(raw[i * 16 + 8 + b]) << (8 * UInt64(b))
      }
      if mask == 0 && name == 0 { break }
      // Single-bit masks only: pageflag_names lists each PG_ bit once (aliases excluded).
      guard mask != 0, mask & (mask - 1) == 0, flags & mask != 0 else { continue }
      if let s = kernel.readOnlyString(pointer: name, limit: 32) { out.append(s) }
    }
    return out
  }
}
