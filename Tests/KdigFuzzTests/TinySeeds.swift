// Tiny hand-made seeds, one or two per target, small enough for git: the replay test runs
// them in every build, and the fuzzer starts from them when the sample seeds are missing.
// Built with the test fixture builders; written to Fuzz/Seeds by KDIG_FUZZ_WRITE_SEEDS=1.

import KdigAnalyzers
import KdigCodecs
@testable import KdigFuzzTargets
import KdigTestSupport

enum TinySeeds {
  typealias Seed = (FuzzTarget, String, [UInt8])

  static let vmcoreinfoLines = [
    "OSRELEASE=6.12.0-fuzz", "PAGESIZE=4096", "KERNELOFFSET=0", "SYMBOL(init_top_pgt)=ffffffff82001000",
    "NUMBER(phys_base)=0", "NUMBER(pgtable_l5_enabled)=0", "SIZE(page)=64", "OFFSET(page.flags)=0",
    "NUMBER(VMALLOC_START)=0xffffc90000000000", "CRASHTIME=1700000000", "SYMBOL(prb)=ffffffff81000000",
    "SIZE(printk_ringbuffer)=88", "OFFSET(printk_info.text_len)=16", "OFFSET(printk_info.caller_id)=20",
    "SYMBOL(kallsyms_num_syms)=ffffffff82000000", "SYMBOL(kallsyms_names)=ffffffff82000010",
    "SYMBOL(kallsyms_token_table)=ffffffff82000100", "SYMBOL(kallsyms_token_index)=ffffffff82000400",
    "SYMBOL(kallsyms_offsets)=ffffffff82000800", "SYMBOL(kallsyms_relative_base)=ffffffff82000900",
  ]

  static func all() throws -> [Seed] {
    let kdump = try kdumpFile()
    var flat = FlattenedWriter()
    flat.recordSizes = [1000, 4096]
    var reversed = flat
    reversed.order = .reversed
    var diskdump = KdumpBuilder(maxPFN: 16)
    diskdump.signature = .diskdump
    diskdump.pages = [1: .data([UInt8](repeating: 0x5a, count: 4096), .compressed(.zlib)), 2: .zero]
    return [
      (.elfCore, "tiny-qemu.elf", elfCore()),
      (.elfCore, "tiny-pn-xnum.elf", elfCore(extendedNumbering: true)),
      (.kdump, "tiny-v6.kdump", kdump),
      (.kdump, "tiny-diskdump.kdump", try diskdump.build().bytes),
      (.flattened, "tiny-v6.flat", flat.wrap(kdump)),
      (.flattened, "tiny-v6-reversed.flat", reversed.wrap(kdump)),
      (.vmcoreinfo, "tiny.txt", Array((vmcoreinfoLines.joined(separator: "\n") + "\n").utf8)),
      (.btf, "tiny.btf", btf()),
      (.kallsyms, "tiny-relative.bin", kallsyms()),
      (.orc, "tiny.orc", orc()),
      (.printk, "tiny-ring.bin", printk()),
      (.pageTables, "tiny-4level.bin", pageTables()),
      // The real start over the real stack of the shipped extract (13 bytes: the rest of
      // the stack is the sample's own).
      (.unwind, "shipped-panic-start.bin", try UnwindTarget.seed()),
    ] + (try LocatorSeeds.all())
  }

  /// A QEMU-style core: NT_PRSTATUS, a QEMU CPU state, VMCOREINFO; two segments, one with
  /// a zero tail (p_filesz < p_memsz).
  static func elfCore(extendedNumbering: Bool = false) -> [UInt8] {
    var b = ElfCoreBuilder()
    b.useExtendedNumbering = extendedNumbering
    b.notes = ElfNoteEncoder.note(name: "CORE", type: 1, desc: ElfNoteEncoder.prstatus(pid: 1, registers: ["rip": 0xffff_ffff_8100_0000]))
      + ElfNoteEncoder.note(name: "QEMU", type: 0, desc: ElfNoteEncoder.qemuCPUState(cr3: 0x1000, cr4: 0, idtBase: 0xffff_fe00_0000_0000))
      + ElfNoteEncoder.vmcoreinfo(vmcoreinfoLines)
    b.segments = [
      CoreSegment(physicalAddress: 0, data: [UInt8](repeating: 0x11, count: 4096)),
      CoreSegment(physicalAddress: 0x10_0000, data: [UInt8](repeating: 0x22, count: 512), memorySize: 8192),
    ]
    return b.build()
  }

  /// A version-6 makedumpfile file: raw, zlib, zero, excluded pages and notes.
  static func kdumpFile() throws -> [UInt8] {
    var b = KdumpBuilder(maxPFN: 64)
    let text = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) }
    b.pages = [0: .data(text, .raw), 1: .data([UInt8](repeating: 0x41, count: 4096), .compressed(.zlib)), 2: .zero, 3: .excluded]
    b.notes = ElfNoteEncoder.note(name: "CORE", type: 1, desc: ElfNoteEncoder.prstatus(pid: 0, registers: [:]))
    b.vmcoreinfo = vmcoreinfoLines.joined(separator: "\n") + "\n"
    return try b.build().bytes
  }

  /// int, struct list_head { struct list_head *next, *prev; }, the pointer, and
  /// enum printk_info_flags { LOG_CONT = 8 }.
  static func btf() -> [UInt8] {
    let strings = Array("\0int\0list_head\0next\0prev\0printk_info_flags\0LOG_CONT\0".utf8)
    var types: [UInt8] = []
    func record(_ name: Int, _ kind: UInt32, _ vlen: UInt32, _ sizeOrType: UInt32) {
      types.append(le: UInt32(name))
      types.append(le: kind << 24 | vlen)
      types.append(le: sizeOrType)
    }
    record(1, 1, 0, 4)  // 1: int, 4 bytes, signed 32 bits
    types.append(le: UInt32(1 << 24 | 32))
    record(0, 2, 0, 3)  // 2: pointer to 3
    record(5, 4, 2, 16)  // 3: struct list_head
    for (name, offset) in [(15, 0), (20, 64)] {
      types.append(le: UInt32(name))
      types.append(le: UInt32(2))
      types.append(le: UInt32(offset))
    }
    record(25, 6, 1, 4)  // 4: enum printk_info_flags
    types.append(le: UInt32(43))
    types.append(le: UInt32(8))
    var out: [UInt8] = [0x9f, 0xeb, 1, 0]
    for v in [24, 0, types.count, types.count, strings.count] { out.append(le: UInt32(v)) }
    return out + types + strings
  }

  /// Three symbols, each character its own token, relative offsets.
  static func kallsyms() -> [UInt8] {
    let a: UInt64 = 0xffff_ffff_8200_0000
    var tokens: [UInt8] = []
    var index: [UInt8] = []
    for n in 0..<256 {
      index.append(le: UInt16(tokens.count))
      tokens += [n == 0 ? UInt8(ascii: "_") : UInt8(n), 0]
    }
    var names: [UInt8] = []
    for name in ["Tstartup_64", "tsecondary_startup_64", "Dinit_task"] {
      names += [UInt8(name.utf8.count)] + Array(name.utf8)
    }
    var offsets: [UInt8] = []
    for o in [0, 0x100, 0x20_0000] { offsets.append(le: UInt32(o)) }
    var base: [UInt8] = []
    base.append(le: UInt64(0xffff_ffff_8100_0000))
    var count: [UInt8] = []
    count.append(le: UInt32(3))
    let places: [(String, UInt64, [UInt8])] = [
      ("kallsyms_num_syms", a, count), ("kallsyms_names", a + 0x10, names), ("kallsyms_token_table", a + 0x100, tokens),
      ("kallsyms_token_index", a + 0x400, index), ("kallsyms_offsets", a + 0x800, offsets),
      ("kallsyms_relative_base", a + 0x900, base),
    ]
    let text = (["KERNELOFFSET=0"] + places.map { "SYMBOL(\($0.0))=\(String($0.1, radix: 16))" }).joined(separator: "\n")
    return KernelMemoryInput.encode(text: text + "\n", chunks: places.map { ($0.1, $0.2) })
  }

  /// Three entries at 0x1000, 0x1010, 0x1020 (self-relative ips), v6.4 layout.
  static func orc() -> [UInt8] {
    let base: UInt64 = 0xffff_ffff_8200_0000
    var out: [UInt8] = []
    out.append(le: base)
    out.append(0)
    for i in 0..<3 { out.append(le: Int32(0x1000 + 0x10 * i - 4 * i)) }
    for _ in 0..<3 { out += [8, 0, 0, 0, 0x05, 0x01] }  // sp_offset 8, bp_offset 0, sp_reg SP, type CALL
    return out
  }

  /// The ring of LogRingTests' fixture: 8 descriptors, 128 bytes of text, two records.
  static func printk() -> [UInt8] {
    let prb: UInt64 = 0xffff_ffff_8100_0000
    let ring = prb + 0x100
    let descs: UInt64 = 0xffff_ffff_8101_0000
    let infos: UInt64 = 0xffff_ffff_8102_0000
    let data: UInt64 = 0xffff_ffff_8103_0000
    let lines = [
      "SYMBOL(prb)=\(String(prb, radix: 16))", "SIZE(printk_ringbuffer)=88", "OFFSET(printk_ringbuffer.desc_ring)=0",
      "OFFSET(printk_ringbuffer.text_data_ring)=48", "OFFSET(printk_ringbuffer.fail)=80",
      "OFFSET(prb_desc_ring.count_bits)=0", "OFFSET(prb_desc_ring.descs)=8", "OFFSET(prb_desc_ring.infos)=16",
      "OFFSET(prb_desc_ring.head_id)=24", "OFFSET(prb_desc_ring.tail_id)=32", "SIZE(prb_desc)=24",
      "OFFSET(prb_desc.state_var)=0", "OFFSET(prb_desc.text_blk_lpos)=8", "OFFSET(prb_data_blk_lpos.begin)=0",
      "OFFSET(prb_data_blk_lpos.next)=8", "SIZE(printk_info)=88", "OFFSET(printk_info.seq)=0",
      "OFFSET(printk_info.ts_nsec)=8", "OFFSET(printk_info.text_len)=16", "OFFSET(printk_info.caller_id)=20",
      "OFFSET(printk_info.dev_info)=24", "OFFSET(dev_printk_info.subsystem)=0", "LENGTH(printk_info_subsystem)=16",
      "OFFSET(dev_printk_info.device)=16", "LENGTH(printk_info_device)=48", "OFFSET(prb_data_ring.size_bits)=0",
      "OFFSET(prb_data_ring.data)=8", "OFFSET(prb_data_ring.head_lpos)=16", "OFFSET(prb_data_ring.tail_lpos)=24",
      "OFFSET(atomic_long_t.counter)=0",
    ]
    var page0 = [UInt8](repeating: 0, count: 4096)  // prb and the ring header
    var descPage = [UInt8](repeating: 0, count: 4096)
    var infoPage = [UInt8](repeating: 0, count: 4096)
    var dataPage = [UInt8](repeating: 0, count: 4096)
    let desc0: UInt64 = 0xffff_fff7  // DESC0_ID(3)
    let lpos0: UInt64 = 0 &- 128
    page0.writeLE(ring, at: 0)
    page0.writeLE(UInt32(3), at: 0x100)
    page0.writeLE(descs, at: 0x108)
    page0.writeLE(infos, at: 0x110)
    page0.writeLE(desc0 &+ 2, at: 0x118)  // head_id
    page0.writeLE(desc0, at: 0x120)  // tail_id
    page0.writeLE(UInt32(7), at: 0x130)
    page0.writeLE(data, at: 0x138)
    page0.writeLE(lpos0, at: 0x148)  // tail_lpos
    func descriptor(_ id: UInt64, state: UInt64, begin: UInt64, next: UInt64) {
      let d = Int(id & 7) * 24
      descPage.writeLE(state << 62 | id, at: d)
      descPage.writeLE(begin, at: d + 8)
      descPage.writeLE(next, at: d + 16)
    }
    descriptor(desc0, state: 3, begin: 1, next: 1)
    var lpos = lpos0
    for (k, text) in ["first", "second\nline"].enumerated() {
      let id = desc0 &+ UInt64(k + 1)
      let bytes = Array(text.utf8)
      let next = lpos &+ UInt64((8 + bytes.count + 7) & ~7)
      dataPage.writeLE(id, at: Int(lpos & 127))
      dataPage.replaceSubrange(Int(lpos & 127) + 8..<Int(lpos & 127) + 8 + bytes.count, with: bytes)
      descriptor(id, state: 2, begin: lpos, next: next)
      let i = Int(id & 7) * 88
      infoPage.writeLE(UInt64(k), at: i)
      infoPage.writeLE(UInt64(k + 1) * 1_000_000_000, at: i + 8)
      infoPage.writeLE(UInt16(bytes.count), at: i + 16)
      infoPage[i + 19] = 6 << 5 | 2
      infoPage.writeLE(UInt32(1), at: i + 20)
      lpos = next
    }
    page0.writeLE(lpos, at: 0x140)  // head_lpos
    return KernelMemoryInput.encode(
      text: lines.joined(separator: "\n") + "\n",
      chunks: [(prb, page0), (descs, descPage), (infos, infoPage), (data, dataPage)])
  }

  /// 4-level tables: the kernel map (2 MiB leaves) and the direct map (a 1 GiB leaf).
  static func pageTables() -> [UInt8] {
    func table(_ entries: [Int: UInt64]) -> [UInt8] {
      var t = [UInt8](repeating: 0, count: 4096)
      for (i, e) in entries { t.writeLE(e, at: i * 8) }
      return t
    }
    let present: UInt64 = 0x63  // present, RW, accessed, dirty
    var out: [UInt8] = []
    out.append(le: UInt64(0x1000))  // root
    out.append(0)  // 4-level
    out.append(le: UInt64(0))  // no SME mask
    out.append(46)
    for va: UInt64 in [0xffff_ffff_8100_0000, 0xffff_8880_0000_1000, 0xffff_ffff_8120_0000, 0xffff_ffff_ffff_f000] {
      out.append(le: va)
    }
    return out + MemoryImage.encode([
      (0x1000, table([511: 0x2000 | present, 273: 0x4000 | present])),
      (0x2000, table([510: 0x3000 | present])),
      (0x3000, table([8: 0x100_0000 | present | 0x80, 9: 0x120_0000 | present | 0x80 | 1 << 63])),
      (0x4000, table([0: 0 | present | 0x80])),
    ])
  }
}
