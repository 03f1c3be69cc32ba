// Loaded kernel modules and their text ranges, walked from the `modules` list with layouts
// from DWARF: struct module has mem[MOD_TEXT] {base, size} since v6.4 (module memory
// rework), core_layout {base, text_size} before.

import KdigBinary
import KdigKernel

/// A module's name and executable range.
public struct ModuleText: Sendable, Encodable {
  public var name: String
  public var start: Hex64
  public var end: Hex64
}

/// Reads the module list.
public struct ModuleList {
  public let kernel: KernelImage
  static let limit = 1 << 16

  public init(kernel: KernelImage) { self.kernel = kernel }

  /// Every loaded module's text, or an empty list when the kernel has no module support.
  public func texts() throws -> [ModuleText] {
    let t = try kernel.types()
    guard let head = try? kernel.lookup("modules").address else { return [] }
    let listOffset = UInt64(try t.offsetof("module.list"))
    let name = try t.member("module.name")
    let base: UInt64
    let size: UInt64
    var sizeIs32 = true
    if let b = try? t.offsetof("module.mem"), let mb = try? t.offsetof("module_memory.base"),
      let ms = try? t.member("module_memory.size")
    {
      base = UInt64(b + mb)  // mem[MOD_TEXT], MOD_TEXT = 0
      size = UInt64(b + ms.offset)
      sizeIs32 = (ms.size ?? 4) == 4
    } else {
      base = UInt64(try t.offsetof("module.core_layout.base"))
      let s = try t.member("module.core_layout.text_size")
      size = UInt64(s.offset)
      sizeIs32 = (s.size ?? 4) == 4
    }
    let space = kernel.kernelSpace
    var out: [ModuleText] = []
    var node = try space.u64(at: head)
    while node != head && out.count < Self.limit {
      let module = node &- listOffset
      let nameBytes = try space.bytes(at: module &+ UInt64(name.offset), count: min(name.size ?? 56, 64))
      let start = try space.u64(at: module &+ base)
      let length = sizeIs32 ? UInt64(try space.integer(UInt32.self, at: module &+ size)) : try space.u64(at: module &+ size)
      out.append(
        ModuleText(
          name: String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self), start: Hex64(start),
          end: Hex64(start &+ length)))
      node = try space.u64(at: node)
    }
    return out
  }
}
