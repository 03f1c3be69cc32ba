// Loaded modules' BTF, as the kernel keeps it: kernel/bpf/btf.c parses each module's .BTF
// into a struct btf on the static `btf_modules` list (struct btf_module {list, module, btf})
// when the module loads; struct btf holds a copy of the raw bytes (data, data_size) and
// where its ids and strings continue the vmlinux's (start_id, start_str_off). The module's
// own btf_data pointer is cleared once it is initialized (.BTF is not SHF_ALLOC), so the
// list is the only way in. Layouts come from the kernel's types (DWARF or BTF).

import KdigBinary

/// One module's BTF in kernel memory.
public struct ModuleBTF: Sendable, Equatable {
  public var module: String
  /// struct btf.data and data_size.
  public var data: UInt64
  public var size: Int
  /// The first type id and string offset of the module's own part.
  public var startID: UInt32
  public var startStringOffset: UInt32
}

extension KernelImage {
  /// A module's BTF is tens of KiB; more than this is not one.
  static let moduleBTFMaxSize = 16 << 20

  /// Every loaded module's BTF; none when the kernel keeps no module BTF.
  public func moduleBTFs() throws -> [ModuleBTF] {
    try memoized("kernel.moduleBTFs") { try readModuleBTFs() }
  }

  private func readModuleBTFs() throws -> [ModuleBTF] {
    guard let head = try? lookup("btf_modules").address else { return [] }
    let t = try types()
    let listOffset = UInt64(try t.offsetof("btf_module.list"))
    let btfOffset = UInt64(try t.offsetof("btf_module.btf"))
    let data = UInt64(try t.offsetof("btf.data"))
    let size = UInt64(try t.offsetof("btf.data_size"))
    let startID = UInt64(try t.offsetof("btf.start_id"))
    let startString = UInt64(try t.offsetof("btf.start_str_off"))
    let name = try t.member("btf.name")
    let space = kernelSpace
    var out: [ModuleBTF] = []
    var seen: Set<UInt64> = []
    var node = try space.u64(at: head)
    while node != head && out.count < Self.moduleLimit && seen.insert(node).inserted {
      let btf = try space.u64(at: node &- listOffset &+ btfOffset)
      let nameBytes = try space.bytes(at: btf &+ UInt64(name.offset), count: min(name.size ?? 56, 64))
      out.append(
        ModuleBTF(
          module: String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self), data: try space.u64(at: btf &+ data),
          size: Int(try space.integer(UInt32.self, at: btf &+ size)),
          startID: try space.integer(UInt32.self, at: btf &+ startID),
          startStringOffset: try space.integer(UInt32.self, at: btf &+ startString)))
      node = try space.u64(at: node)
    }
    return out
  }

  /// The raw bytes of `m`'s BTF.
  public func bytes(of m: ModuleBTF) throws -> ByteView {
    guard m.size > 0, m.size <= Self.moduleBTFMaxSize else {
      throw KernelTypeError(file: "the dump", "module \(m.module)'s BTF claims \(m.size) bytes (1…\(Self.moduleBTFMaxSize))")
    }
    return try kernelSpace.view(at: m.data, count: m.size, "BTF of module \(m.module)")
  }

  /// The vmlinux BTF module BTF continues: the dump's own (__start_BTF…__stop_BTF).
  func baseBTF() throws -> BTFTypes {
    try memoized("kernel.baseBTF") {
      if let d = (typeProviderIfLoaded as? ModuleTypes)?.primary as? DumpTypes { return d.btf }
      let range = try DumpBTFRange.find(symbols: try symbols(), runtime: { self.runtimeAddress($0) })
      return try range.read(from: regionReader)
    }
  }
}
