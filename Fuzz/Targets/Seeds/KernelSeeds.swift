// Seeds of the kernel-memory targets, cut from an opened sample: its VMCOREINFO text; its
// kallsyms tables cut to a few hundred symbols and packed together; the newest printk
// records with their pages (the ring's tail moved up to them); and the page-table pages of
// a few translations.

import KdigAnalyzers
import KdigKernel
import KdigMemory
import KdigTranslation

enum KernelSeeds {
  typealias Seed = (FuzzTarget, String, [UInt8])

  static func cut(_ kernel: KernelImage, sample: String) -> [Seed] {
    var seeds: [Seed] = []
    if let text = kernel.notes.vmcoreinfo { seeds.append((.vmcoreinfo, "\(sample).txt", Array(text.utf8))) }
    if let info = kernel.vmcoreinfo {
      for (name, start) in [("head", 0), ("middle", -1)] {
        if let seed = try? kallsyms(kernel, info, first: start) { seeds.append((.kallsyms, "\(sample)-\(name).bin", seed)) }
      }
      if let seed = try? printk(kernel, info) { seeds.append((.printk, "\(sample).bin", seed)) }
    }
    if let seed = try? pageTables(kernel) { seeds.append((.pageTables, "\(sample).bin", seed)) }
    return seeds
  }

  static func page(_ memory: any VirtualMemory, _ address: UInt64) throws -> (UInt64, [UInt8]) {
    let base = address & ~0xfff
    return (base, try memory.bytes(at: base, count: 4096))
  }

  // MARK: - kallsyms

  static let keptSymbols = 300

  /// `keptSymbols` symbols from entry `first` (-1: the middle), the tables packed one after
  /// another from kallsyms_num_syms' address in the order scripts/kallsyms.c emits them.
  static func kallsyms(_ kernel: KernelImage, _ info: VMCoreInfo, first: Int) throws -> [UInt8] {
    let memory = kernel.kernelSpace
    let location = try KallsymsLocation.from(info)
    guard case .relative(let offsetsAt, let baseAt) = location.addressing else { return [] }
    let total = Int(try memory.integer(UInt32.self, at: location.numSyms))
    let start = first < 0 ? total / 2 : first
    let n = min(keptSymbols, total - start)
    // Walk the entries before `start` and the kept ones: lengths are 1 or 2 bytes.
    let namesEnd = [location.numSyms, location.tokenTable, location.tokenIndex, offsetsAt, baseAt]
      .filter { $0 > location.names }.min() ?? location.names
    guard namesEnd - location.names < 64 << 20, location.tokenIndex > location.tokenTable,
      location.tokenIndex - location.tokenTable < 65536, start >= 0, n > 0
    else { return [] }
    let names = try memory.bytes(at: location.names, count: Int(namesEnd - location.names))
    var pos = 0
    var from = 0
    for i in 0..<(start + n) {
      if i == start { from = pos }
      guard pos + 1 < names.count else { return [] }
      var len = Int(names[pos])
      pos += 1
      if len & 0x80 != 0 {
        len = (len & 0x7f) | Int(names[pos]) << 7
        pos += 1
      }
      pos += len
    }
    guard pos <= names.count else { return [] }
    let table = try memory.bytes(at: location.tokenTable, count: Int(location.tokenIndex - location.tokenTable))
    let index = try memory.bytes(at: location.tokenIndex, count: 512)
    let offsets = try memory.bytes(at: offsetsAt &+ UInt64(4 * start), count: 4 * n)
    let base = try memory.bytes(at: baseAt, count: 8)
    var count: [UInt8] = []
    count.append(le: UInt32(n))
    // Packed layout, each table 8-byte aligned.
    var chunks: [(address: UInt64, bytes: [UInt8])] = []
    var address = location.numSyms
    var lines = ["OSRELEASE=\(info.osRelease ?? "")", "KERNELOFFSET=\(String(info.kernelOffset ?? 0, radix: 16))"]
    for (symbol, bytes) in [
      ("kallsyms_num_syms", count), ("kallsyms_names", Array(names[from..<pos])), ("kallsyms_token_table", table),
      ("kallsyms_token_index", index), ("kallsyms_offsets", offsets), ("kallsyms_relative_base", base),
    ] {
      lines.append("SYMBOL(\(symbol))=\(String(address, radix: 16))")
      chunks.append((address, bytes))
      address = (address &+ UInt64(bytes.count) &+ 7) & ~7
    }
    return KernelMemoryInput.encode(text: lines.joined(separator: "\n") + "\n", chunks: chunks)
  }

  // MARK: - printk

  static let keptRecords: UInt64 = 16

  /// The pages of the newest `keptRecords` records (descriptor, info, text) and of the ring
  /// header, with desc_ring.tail_id moved to the first of them; VMCOREINFO's ring lines.
  static func printk(_ kernel: KernelImage, _ info: VMCoreInfo) throws -> [UInt8] {
    guard case .success(let l) = PrintkLayout.fromVMCoreInfo(info) else { return [] }
    let memory = kernel.kernelSpace
    let ring = try memory.u64(at: l.prbSymbol)
    let header = try memory.bytes(at: ring, count: l.ringbufferSize)
    let countBits = Int(header.u32(at: l.descRing + l.countBits))
    let sizeBits = Int(header.u32(at: l.textDataRing + l.sizeBits))
    let descs = header.u64(at: l.descRing + l.descs)
    let infos = header.u64(at: l.descRing + l.infos)
    let data = header.u64(at: l.textDataRing + l.data)
    let head = header.u64(at: l.descRing + l.headID + l.counter)
    guard countBits < 26, sizeBits < 31 else { return [] }
    let mask = (UInt64(1) << UInt64(countBits)) - 1
    let dataMask = (UInt64(1) << UInt64(sizeBits)) - 1
    // Wrapping: addresses from the dump that do not fit are only unreadable.
    var pages: Set<UInt64> = [l.prbSymbol & ~0xfff, ring & ~0xfff, (ring &+ UInt64(l.ringbufferSize) &- 1) & ~0xfff, data]
    let tail = head &- (keptRecords &- 1)
    for k in 0..<keptRecords {
      let id = tail &+ k
      let desc = descs &+ (id & mask) &* UInt64(l.descSize)
      let infoAt = infos &+ (id & mask) &* UInt64(l.infoSize)
      for a in [desc, desc &+ UInt64(l.descSize) &- 1, infoAt, infoAt &+ UInt64(l.infoSize) &- 1] { pages.insert(a & ~0xfff) }
      let d = try memory.bytes(at: desc, count: l.descSize)
      let begin = d.u64(at: l.textBlkLpos + l.lposBegin) & dataMask
      let next = d.u64(at: l.textBlkLpos + l.lposNext) & dataMask
      let end = next > begin ? next : begin &+ 64
      for a in stride(from: data &+ begin, to: data &+ min(end, dataMask &+ 1), by: 4096) { pages.insert(a & ~0xfff) }
      pages.insert((data &+ min(end, dataMask &+ 1) &- 1) & ~0xfff)
    }
    var chunks: [(address: UInt64, bytes: [UInt8])] = []
    let tailField = ring &+ UInt64(l.descRing + l.tailID + l.counter)
    for p in pages.sorted() {
      guard var bytes = try? memory.bytes(at: p, count: 4096) else { continue }
      if tailField & ~0xfff == p { bytes.put(tail, at: Int(tailField & 0xfff)) }
      chunks.append((p, bytes))
    }
    let keys = ["prb", "printk", "atomic_long_t", "dev_printk_info", "OSRELEASE"]
    let lines = info.entries.filter { e in keys.contains { e.key.contains($0) } }.map { "\($0.key)=\($0.value)" }
    return KernelMemoryInput.encode(text: lines.joined(separator: "\n") + "\n", chunks: chunks)
  }

  // MARK: - page tables

  /// The root, the mode, the SME mask and MAX_PHYSMEM_BITS, four addresses, and the table
  /// pages their walks visit (kernel text, direct map, cpu_entry_area, the ring buffer).
  static func pageTables(_ kernel: KernelImage) throws -> [UInt8] {
    let walker = kernel.kernelSpace.walker
    let root = kernel.kernelSpace.root
    var addresses: [UInt64] = [0xffff_fe00_0000_0000, kernel.regions().pageOffset]
    if let text = try? kernel.lookup("_stext").address { addresses.append(text) }
    if let prb = try? kernel.lookup("prb").address { addresses.append(prb) }
    while addresses.count < 4 { addresses.append(0xffff_ffff_8100_0000) }
    var tables: Set<UInt64> = []
    for va in addresses {
      let steps = (try? walker.walk(va, root: root).steps) ?? []
      for s in steps { tables.insert(s.tableAddress) }
    }
    var out: [UInt8] = []
    out.append(le: root)
    out.append(walker.mode == .fiveLevel ? 1 : 0)
    out.append(le: ~walker.frameMask & 0x000f_ffff_ffff_f000)
    out.append(UInt8(walker.physicalBits))
    for va in addresses.prefix(4) { out.append(le: va) }
    let chunks = tables.sorted().compactMap { t in (try? walker.memory.bytes(at: t, count: 4096)).map { (t, $0) } }
    return out + MemoryImage.encode(chunks)
  }
}
