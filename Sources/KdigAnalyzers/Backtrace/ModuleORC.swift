// The ORC tables of loaded modules (arch/x86/kernel/unwind_orc.c unwind_module_init: struct
// module's arch.orc_unwind_ip / orc_unwind / num_orcs, sorted at load, the same PC-relative
// encoding as the vmlinux's), read from the dump, so a backtrace through module code unwinds
// with the module's own data instead of the return-address scan.

import KdigBinary
import KdigKernel
import KdigX86

/// One module's ORC table, in dump memory.
public struct ModuleORCTable: Sendable {
  public var module: String
  public var textStart: UInt64
  public var textEnd: UInt64
  public var count: Int
  /// Runtime addresses of the module's orc_unwind_ip (s32 array) and orc_unwind arrays.
  public var ipArray: UInt64
  public var entries: UInt64
  public var format: ORCFormat

  /// A sane table: at most 2^20 entries (a module's text is far smaller than 4 MiB of ORC).
  static let maxEntries = 1 << 20

  /// The address entry `i` covers.
  public func ip(_ i: Int, _ kernel: KernelImage) throws -> UInt64 {
    let at = ipArray &+ UInt64(i * 4)
    let rel = Int32(bitPattern: try kernel.kernelSpace.integer(UInt32.self, at: at))
    return at &+ UInt64(bitPattern: Int64(rel))
  }

  /// The entry covering runtime `address` (orc_find's module case), by binary search.
  public func entry(for address: UInt64, _ kernel: KernelImage) throws -> ORCEntry? {
    var lo = 0
    var hi = count
    while lo < hi {
      let mid = (lo + hi) / 2
      if try ip(mid, kernel) <= address { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return nil }
    let bytes = try kernel.kernelSpace.bytes(at: entries &+ UInt64((lo - 1) * ORCFormat.size), count: ORCFormat.size)
    return try ORCEntry(bytes: bytes, format: format)
  }
}

extension KernelImage {
  /// Every loaded module's ORC table (none without module support or ORC in modules).
  public func moduleORCTables() -> [ModuleORCTable] {
    memoized("moduleORC") { readModuleORCTables() }
  }

  func readModuleORCTables() -> [ModuleORCTable] {
    guard let t = try? types(), let texts = try? ModuleList(kernel: self).texts(), !texts.isEmpty,
      let head = try? lookup("modules").address, let listOffset = try? t.offsetof("module.list"),
      let name = try? t.member("module.name"), let numOrcs = try? t.offsetof("module.arch.num_orcs"),
      let ipOff = try? t.offsetof("module.arch.orc_unwind_ip"), let entOff = try? t.offsetof("module.arch.orc_unwind"),
      let format = try? orcTable().format
    else { return [] }
    var out: [ModuleORCTable] = []
    var node = (try? kernelSpace.u64(at: head)) ?? head
    var seen = 0
    while node != head && seen < texts.count + 1 {
      seen += 1
      let module = node &- UInt64(listOffset)
      guard let nameBytes = try? kernelSpace.bytes(at: module &+ UInt64(name.offset), count: min(name.size ?? 56, 64)),
        let count = try? kernelSpace.integer(UInt32.self, at: module &+ UInt64(numOrcs)),
        let ips = try? kernelSpace.u64(at: module &+ UInt64(ipOff)),
        let entries = try? kernelSpace.u64(at: module &+ UInt64(entOff))
      else { break }
      let moduleName = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
      if count > 0, Int(count) <= ModuleORCTable.maxEntries, let text = texts.first(where: { $0.name == moduleName }) {
        out.append(
          ModuleORCTable(
            module: moduleName, textStart: text.start.value, textEnd: text.end.value, count: Int(count), ipArray: ips,
            entries: entries, format: format))
      }
      guard let next = try? kernelSpace.u64(at: node) else { break }
      node = next
    }
    return out
  }
}
