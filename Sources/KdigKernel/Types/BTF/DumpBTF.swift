// The kernel's own BTF, read out of the dump: the .BTF section is loaded with the kernel
// (vmlinux.lds.h BTF section, bounded by the linker symbols __start_BTF and __stop_BTF) and
// stays in memory for the BPF verifier, so a dump carries the types even when nobody has
// the debug vmlinux. kallsyms gives the two bounds (VMCOREINFO does not); the bytes are
// copied out once (or taken from the per-build copy, RegionCache.swift) and handed to
// BTFTypes(bytes:).

import KdigBinary
import KdigTranslation

/// Where the dump's BTF is and how big it is.
public struct DumpBTFRange: Sendable, Equatable {
  public var start: UInt64
  public var size: Int

  /// vmlinux BTF is ~4-6 MiB; more than this between the two symbols is not BTF.
  public static let maxSize = 64 << 20
}

extension DumpBTFRange {
  /// __start_BTF … __stop_BTF at runtime, from `symbols` relocated by `runtime`.
  static func find(symbols: any SymbolProvider, runtime: (ElfSymbol) -> UInt64) throws -> DumpBTFRange {
    guard let start = symbols.first("__start_BTF"), let stop = symbols.first("__stop_BTF") else {
      throw KernelTypeError(
        file: "the dump", "kallsyms has no __start_BTF/__stop_BTF: this kernel was built without CONFIG_DEBUG_INFO_BTF, "
          + "so the dump holds no types (give --vmlinux)")
    }
    let from = runtime(start)
    let to = runtime(stop)
    guard to > from, to - from <= UInt64(maxSize) else {
      throw KernelTypeError(
        file: "the dump",
        "__start_BTF (0x\(hex(from))) … __stop_BTF (0x\(hex(to))) is not a BTF section (empty, reversed or over \(maxSize >> 20) MiB)")
    }
    return DumpBTFRange(start: from, size: Int(to - from))
  }

  /// The BTF bytes, parsed.
  func read(from regions: any KernelRegionReader) throws -> BTFTypes {
    let bytes = try regions.region(at: start, count: size, key: "btf", "BTF (__start_BTF…__stop_BTF)")
    return try BTFTypes(bytes: bytes, source: "BTF in the dump (__start_BTF 0x\(hex(start)), \(size) bytes)")
  }
}
