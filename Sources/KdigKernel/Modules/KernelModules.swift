// Loaded kernel modules, walked from the `modules` list with layouts from DWARF/BTF: struct
// module has mem[] {base, size} per memory type since v6.4 (module memory rework), and
// core_layout {base, size, text_size} before. Read once per kernel.

import KdigBinary
import KdigTranslation

/// One loaded module.
public struct KernelModule: Sendable {
  public var name: String
  /// The struct module.
  public var address: UInt64
  /// Its executable code (mem[MOD_TEXT], or core_layout's text).
  public var text: Range<UInt64>
  /// Every memory region it occupies (text, data, read-only data), for "is this address
  /// in a module?" questions.
  public var regions: [Range<UInt64>]

  public func contains(_ address: UInt64) -> Bool { regions.contains { $0.contains(address) } }
}

extension KernelImage {
  /// A longer list is a loop or garbage.
  static let moduleLimit = 1 << 16

  /// Every loaded module, or none when the kernel has no module list.
  public func loadedModules() throws -> [KernelModule] {
    try memoized("kernel.loadedModules") { try readModules() }
  }

  private func readModules() throws -> [KernelModule] {
    let t = try types()
    guard let head = try? lookup("modules").address else { return [] }
    let listOffset = UInt64(try t.offsetof("module.list"))
    let name = try t.member("module.name")
    let layout = try ModuleMemoryLayout(t)
    let space = kernelSpace
    var out: [KernelModule] = []
    var node = try space.u64(at: head)
    var seen: Set<UInt64> = []
    while node != head && out.count < Self.moduleLimit && seen.insert(node).inserted {
      let module = node &- listOffset
      let nameBytes = try space.bytes(at: module &+ UInt64(name.offset), count: min(name.size ?? 56, 64))
      let regions = try layout.regions(of: module, in: space)
      out.append(
        KernelModule(
          name: String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self), address: module,
          text: regions.text, regions: regions.all))
      node = try space.u64(at: node)
    }
    return out
  }
}

/// Where a struct module keeps its memory regions, for this kernel.
struct ModuleMemoryLayout {
  /// v6.4+: mem[count] of {base, size}; MOD_TEXT is mem[0].
  var mem: (offset: Int, count: Int, element: Int, base: Int, size: Int, size32: Bool)?
  /// Before: core_layout {base, size, text_size}.
  var core: (base: Int, size: Int, textSize: Int, size32: Bool)?

  init(_ t: any TypeProvider) throws {
    if let m = try? t.offsetof("module.mem"), let n = try? t.arrayLength(ofMember: "module.mem"),
      let e = try? t.sizeof("module_memory"), let b = try? t.offsetof("module_memory.base"),
      let s = try? t.member("module_memory.size")
    {
      mem = (m, min(n, 16), e, b, s.offset, (s.size ?? 4) == 4)
    } else {
      let s = try t.member("module.core_layout.size")
      core = (
        try t.offsetof("module.core_layout.base"), s.offset, try t.offsetof("module.core_layout.text_size"),
        (s.size ?? 4) == 4
      )
    }
  }

  func regions(of module: UInt64, in space: any VirtualMemory) throws -> (text: Range<UInt64>, all: [Range<UInt64>]) {
    func size(_ at: UInt64, _ is32: Bool) throws -> UInt64 {
      is32 ? UInt64(try space.integer(UInt32.self, at: at)) : try space.u64(at: at)
    }
    func range(_ base: UInt64, _ length: UInt64) -> Range<UInt64> { base..<base.saturatingAdd(length) }
    if let mem {
      var all: [Range<UInt64>] = []
      var text: Range<UInt64> = 0..<0
      for i in 0..<mem.count {
        let at = module &+ UInt64(mem.offset + i * mem.element)
        let base = try space.u64(at: at &+ UInt64(mem.base))
        let length = try size(at &+ UInt64(mem.size), mem.size32)
        if i == 0 { text = range(base, length) }
        if base != 0 && length != 0 { all.append(range(base, length)) }
      }
      return (text, all)
    }
    guard let core else { return (0..<0, []) }
    let base = try space.u64(at: module &+ UInt64(core.base))
    let whole = range(base, try size(module &+ UInt64(core.size), core.size32))
    return (range(base, try size(module &+ UInt64(core.textSize), core.size32)), [whole])
  }
}
