// Symbols of loaded modules, from each module's own kallsyms (struct module → kallsyms →
// struct mod_kallsyms {symtab, num_symtab, strtab, typetab}: the Elf64_Sym table the module
// loader kept, with st_value already the run-time address; kernel/module/kallsyms.c). The
// vmlinux knows nothing of modules, so with or without it this is where module addresses
// get their names, as crash and /proc/kallsyms name them.

import KdigBinary

/// One module's symbols, sorted by address.
struct ModuleSymbolTable {
  struct Entry {
    var value: UInt64
    var size: UInt64
    var nameOffset: UInt32
    var info: UInt8
    var letter: Character
  }
  var module: KernelModule
  var entries: [Entry]
  var strtab: UInt64

  /// More symbols than any module has is garbage.
  static let maxSymbols = 1 << 20
}

extension KernelImage {
  /// The symbol of a module at or below `address` (in the same module), with the offset and
  /// the module's name; nil outside modules.
  public func moduleSymbol(at address: UInt64) -> (symbol: ElfSymbol, offset: UInt64, module: String)? {
    guard let modules = try? loadedModules(), let module = modules.first(where: { $0.contains(address) }),
      let table = moduleSymbols(module)
    else { return nil }
    var lo = 0
    var hi = table.entries.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if table.entries[mid].value <= address { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return nil }
    let e = table.entries[lo - 1]
    let nameBytes = (try? kernelSpace.bytes(at: table.strtab &+ UInt64(e.nameOffset), count: 128)) ?? []
    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
    let symbol = ElfSymbol(
      name: name, value: e.value, size: e.size, type: e.info & 0xf, binding: e.info >> 4, letter: e.letter,
      index: lo - 1)
    return (symbol, address &- e.value, module.name)
  }

  /// `module`'s symbol table, read on first use (nil when its kallsyms cannot be read).
  func moduleSymbols(_ module: KernelModule) -> ModuleSymbolTable? {
    memoized("moduleSymbols.\(module.address)") { readModuleSymbols(module) }
  }

  private func readModuleSymbols(_ module: KernelModule) -> ModuleSymbolTable? {
    guard let t = try? types(), let kallsyms = try? t.offsetof("module.kallsyms"),
      let symtabAt = try? t.offsetof("mod_kallsyms.symtab"), let countAt = try? t.offsetof("mod_kallsyms.num_symtab"),
      let strtabAt = try? t.offsetof("mod_kallsyms.strtab"),
      let table = try? kernelSpace.u64(at: module.address &+ UInt64(kallsyms)), table != 0,
      let symtab = try? kernelSpace.u64(at: table &+ UInt64(symtabAt)),
      let count = try? kernelSpace.integer(UInt32.self, at: table &+ UInt64(countAt)),
      Int(count) <= ModuleSymbolTable.maxSymbols,
      let strtab = try? kernelSpace.u64(at: table &+ UInt64(strtabAt)),
      let raw = try? kernelSpace.bytes(at: symtab, count: Int(count) * 24)
    else { return nil }
    // typetab (v5.2+): the nm letter of each symbol, as /proc/kallsyms shows it.
    let letters: [UInt8] = (try? t.offsetof("mod_kallsyms.typetab")).flatMap { at in
      (try? kernelSpace.u64(at: table &+ UInt64(at))).flatMap { try? kernelSpace.bytes(at: $0, count: Int(count)) }
    } ?? []
    var entries: [ModuleSymbolTable.Entry] = []
    raw.withUnsafeBytes { sym in
      for i in 1..<max(1, Int(count)) {
        let o = i * 24
        let name = UInt32(littleEndian: sym.loadUnaligned(fromByteOffset: o, as: UInt32.self))
        let info = sym[o + 4]
        let shndx = UInt16(littleEndian: sym.loadUnaligned(fromByteOffset: o + 6, as: UInt16.self))
        let value = UInt64(littleEndian: sym.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))
        let size = UInt64(littleEndian: sym.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self))
        // Defined NOTYPE/OBJECT/FUNC symbols with a name, inside the module.
        guard name != 0, shndx != 0, info & 0xf <= 2, module.contains(value) else { continue }
        let letter = i < letters.count ? Character(Unicode.Scalar(letters[i])) : (info & 0xf == 2 ? "t" : "d")
        entries.append(.init(value: value, size: size, nameOffset: name, info: info, letter: letter))
      }
    }
    // Stable: symbols at one address keep table order (the first is the one named).
    entries = entries.enumerated().sorted { ($0.element.value, $0.offset) < ($1.element.value, $1.offset) }.map(\.element)
    return ModuleSymbolTable(module: module, entries: entries, strtab: strtab)
  }
}
