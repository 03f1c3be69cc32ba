// VMCOREINFO text: the parser and every reader of its values that needs nothing else (the
// kallsyms table locations, the printk ring layout, the bounded OFFSET/SIZE accessors).

import KdigAnalyzers
import KdigKernel

enum VMCoreInfoTarget {
  static func run(_ bytes: [UInt8]) throws {
    let info = VMCoreInfo(text: String(decoding: bytes, as: UTF8.self))
    _ = (info.osRelease, info.buildID, info.pageSize, info.kernelOffset, info.crashTime)
    // Every key as each kind of value, as the layout and locator code reads them.
    for (key, _) in info.entries.prefix(4096) {
      guard let open = key.firstIndex(of: "("), key.hasSuffix(")") else { continue }
      let name = String(key[key.index(after: open)..<key.index(before: key.endIndex)])
      _ = (info.symbol(name), info.number(name), info.size(name), info.offset(name), info.length(name))
      _ = (info.offset(name, upTo: 4096), info.size(name, upTo: 4096), info.length(name, upTo: 4096))
    }
    _ = PrintkLayout.fromVMCoreInfo(info)
    _ = try KallsymsLocation.from(info)
  }
}
