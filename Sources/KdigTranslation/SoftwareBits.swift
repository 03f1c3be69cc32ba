// The bits the Linux kernel itself uses in page-table entries (software-available bits and
// their aliases), which moved between kernel versions (arch/x86/include/asm/pgtable_types.h):
// before v6.6 _PAGE_BIT_SOFTW4 was 58 (DEVMAP); the shadow-stack series (v6.6) made SOFTW4 57
// (DEVMAP) and added SOFTW5 58 (SAVED_DIRTY; NOPTISHADOW on a root PGD entry since v6.13).

/// Names of the kernel's software bits for one kernel version.
public struct KernelPTEBits: Sendable, Hashable {
  /// Bit number → name, for present leaf entries.
  public var leafBits: [Int: String]
  /// Bit number → name, for non-leaf entries of the root table (PGD).
  public var rootBits: [Int: String]

  /// The layout of kernel `major.minor`.
  public static func forKernel(major: Int, minor: Int) -> KernelPTEBits {
    let version = major * 1000 + minor
    var leaf: [Int: String] = [
      9: "SPECIAL",  // _PAGE_BIT_SOFTW1 (also CPA_TEST)
      10: "UFFD_WP",  // _PAGE_BIT_SOFTW2
      11: "SOFT_DIRTY",  // _PAGE_BIT_SOFTW3 (KERNEL_4K on kernel mappings)
    ]
    var root: [Int: String] = [:]
    if version >= 6006 {
      leaf[57] = "DEVMAP"  // _PAGE_BIT_SOFTW4
      leaf[58] = "SAVED_DIRTY"  // _PAGE_BIT_SOFTW5
      if version >= 6013 { root[58] = "NOPTISHADOW" }
    } else {
      leaf[58] = "DEVMAP"  // _PAGE_BIT_SOFTW4 = 58 before v6.6
    }
    return KernelPTEBits(leafBits: leaf, rootBits: root)
  }

  /// The layout for a release string such as "6.12.107+deb12-cloud-amd64".
  public static func forRelease(_ release: String?) -> KernelPTEBits {
    let parts = (release ?? "").split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    guard parts.count >= 2 else { return forKernel(major: 6, minor: 12) }
    return forKernel(major: parts[0], minor: parts[1])
  }
}
