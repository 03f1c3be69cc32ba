// Parsers of tables in kernel memory. Their input is a VMCOREINFO text (which says where
// the tables are, as the kernel announces them) and a memory image (MemoryImage), laid out
// as `u16 text length, text, image`; the image's addresses are kernel virtual addresses.

import KdigAnalyzers
import KdigBinary
import KdigKernel
import KdigMemory
import KdigTranslation

/// The shared input layout of the kernel-memory targets.
struct KernelMemoryInput {
  let info: VMCoreInfo
  let memory: IdentityVirtualMemory

  init(_ bytes: [UInt8]) {
    var cursor = FuzzCursor(bytes)
    let text = cursor.take(Int(cursor.u16()))
    info = VMCoreInfo(text: String(decoding: text, as: UTF8.self))
    memory = IdentityVirtualMemory(MemoryImage.load(&cursor))
  }

  /// Encodes an input of this layout, for seeds.
  static func encode(text: String, chunks: [(address: UInt64, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    let utf8 = Array(text.utf8.prefix(Int(UInt16.max)))
    out.append(le: UInt16(utf8.count))
    return out + utf8 + MemoryImage.encode(chunks)
  }
}

/// kallsyms: kallsyms_num_syms, the compressed names, the token table and index, and the
/// offsets (with the relative base) or absolute addresses, at the addresses VMCOREINFO's
/// SYMBOL(kallsyms_*) lines give; then lookups by name and by address.
enum KallsymsTarget {
  static func run(_ bytes: [UInt8]) throws {
    let input = KernelMemoryInput(bytes)
    let location = try KallsymsLocation.from(input.info)
    let table = try KallsymsTable.read(from: input.memory, location: location, kaslrOffset: input.info.kernelOffset ?? 0)
    let picks = Set([0, 1, table.count / 2, table.count - 1].filter { $0 >= 0 && $0 < table.count })
    for i in picks.sorted() {
      let symbol = table.symbol(at: i)
      _ = table.lookup(symbol.name)
      _ = table.symbolize(linkAddress: symbol.value &+ 1)
    }
    _ = table.lookup("startup_64")
    _ = table.symbolize(linkAddress: 0xffff_ffff_8100_0000)
  }
}

/// The printk ring: `prb`, the ring header, descriptors, infos and text blocks, with the
/// layout from VMCOREINFO (SYMBOL(prb), SIZE/OFFSET of the ring's structures), read as
/// `kdig log` reads it.
enum PrintkTarget {
  /// Descriptors one input walks: the real limit (2^20) makes a fuzzed ring header cost up
  /// to a second; reaching the limit, not its size, is what needs fuzzing (the kept
  /// regression input checks the real one).
  static let descriptorLimit: UInt64 = 1 << 10

  static func run(_ bytes: [UInt8]) throws {
    let input = KernelMemoryInput(bytes)
    let layout = try PrintkLayout.fromVMCoreInfo(input.info).get()
    let log = try KernelLogReader(memory: input.memory, layout: layout, descriptorLimit: descriptorLimit).read()
    _ = (log.records, log.unreadable(.garbled))
    // A seed that reads no record at all has lost its ring: say so in replays.
    if log.records == 0 { throw LogError("no record read: \(log.entries.count) gap entries") }
  }
}
