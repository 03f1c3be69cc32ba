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

  /// The BTF bytes, parsed. The record walk and the name index are kept per build
  /// (DerivedIndexCache.swift) under a fingerprint of the bytes.
  func read(from regions: any KernelRegionReader) throws -> BTFTypes {
    let bytes = try regions.region(at: start, count: size, key: "btf", "BTF (__start_BTF…__stop_BTF)")
    let source = "BTF in the dump (__start_BTF 0x\(hex(start)), \(size) bytes)"
    guard let cache = regions.derivedIndexes else { return try BTFTypes(bytes: bytes, source: source) }
    var f = ContentFingerprint()
    f.add(bytes)
    let fingerprint = f.value
    if let s = cache.load(key: "btf", fingerprint: fingerprint, sections: 2), s[0].count % 4 == 0, s[1].count % 4 == 0,
      let offsets = IndexSection.values(s[0], as: UInt32.self, count: s[0].count / 4),
      let names = IndexSection.values(s[1], as: UInt32.self, count: s[1].count / 4)
    {
      return try BTFTypes(bytes: bytes, source: source, known: (offsets, names))
    }
    let types = try BTFTypes(bytes: bytes, source: source)
    let index = types.derivedIndex
    cache.store([IndexSection.bytes(index.offsets), IndexSection.bytes(index.names)], key: "btf", fingerprint: fingerprint)
    return types
  }
}
