// Symbols and types without a vmlinux: the dump's kallsyms and BTF (docs/no-vmlinux.md).
// KernelImage.symbols() and types() fall through to these when there is no vmlinux, so
// every caller keeps one interface; `info` reports which source answered.

import KdigBinary

extension KernelImage {
  /// The kallsyms tables VMCOREINFO points at, read on first use.
  func dumpSymbols() throws -> KallsymsTable {
    if let cachedKallsyms { return cachedKallsyms }
    // A dump whose kallsyms cannot be read fails the same way every time: remember why, so
    // callers that only try (memoryMap, info) do not re-read megabytes per attempt.
    if let kallsymsFailure { throw kallsymsFailure }
    do {
      let location = try KallsymsLocation.from(vmcoreinfo)
      let table = try withContext("reading the dump's kallsyms (no vmlinux)") {
        try KallsymsTable.read(
          from: kernelSpace, location: location, kaslrOffset: layout.kaslrOffset.value, regions: regionReader)
      }
      cachedKallsyms = table
      return table
    } catch {
      kallsymsFailure = error
      throw error
    }
  }

  /// The dump's BTF (bounds from kallsyms) with the global variables kdig declares.
  func dumpTypes() throws -> DumpTypes {
    let symbols = try dumpSymbols()
    let range = try DumpBTFRange.find(symbols: symbols, runtime: { self.runtimeAddress($0) })
    let btf = try range.read(from: regionReader)
    // Byte sizes of configuration-sized arrays (node_data[MAX_NUMNODES] …): the kallsyms size,
    // which runs to the next symbol; for a char array initialised from a string (linux_banner,
    // often the last named symbol of its section) the string's length and its NUL.
    let release = vmcoreinfo?.osRelease
    var sizes: [String: UInt64] = [:]
    for name in KnownVariables.declarations.keys {
      guard let declaration = KnownVariables.declaration(of: name, release: release), declaration.hasSuffix("[]"),
        let s = symbols.first(name)
      else { continue }
      if declaration.hasSuffix("char []") {
        let text = kernelString(at: runtimeAddress(s), limit: 4096)
        sizes[name] = text.map { UInt64($0.utf8.count + 1) } ?? s.size
      } else {
        sizes[name] = s.size
      }
    }
    return DumpTypes(btf: btf, arrayBytes: sizes, release: release)
  }

  /// Bytes of a read-only kernel object (.rodata: never written after boot, never freed):
  /// from the vmlinux file when there is one, else the dump's own copy.
  public func readOnlyBytes(of symbol: ElfSymbol, count: Int) throws -> [UInt8] {
    if let vmlinux { return try vmlinux.bytes(atLinkAddress: symbol.value, count: count) }
    return try kernelSpace.bytes(at: runtimeAddress(symbol), count: count)
  }

  /// A string a read-only kernel object points at, `pointer` as stored in that object (a
  /// link-time address in the vmlinux file, a runtime one in the dump); at most `limit` bytes.
  public func readOnlyString(pointer: UInt64, limit: Int) -> String? {
    if let vmlinux { return vmlinux.string(atLinkAddress: pointer, limit: limit) }
    return kernelString(at: pointer, limit: limit)
  }

  /// Where symbols come from, without loading them (for `info`).
  public var symbolSourceDescription: String {
    if let vmlinux { return "ELF .symtab of \(vmlinux.path)" }
    if let cachedKallsyms { return cachedKallsyms.source }
    return "kallsyms in the dump (VMCOREINFO SYMBOL(kallsyms_*))"
  }

  /// Where types come from, without loading them (for `info`).
  public var typeSourceDescription: String {
    if let vmlinux { return "DWARF of \(vmlinux.path)" }
    let btf = ((typeProviderIfLoaded as? ModuleTypes)?.primary as? DumpTypes)?.source ?? "BTF in the dump (__start_BTF…__stop_BTF)"
    return btf + "; global variables by declaration (docs/no-vmlinux.md)"
  }
}
