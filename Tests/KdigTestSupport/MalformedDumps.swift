// A deterministic malformed-dump generator (issue 11): from the real samples, with fixed
// seeds, it sets header fields, program headers, note sizes, page descriptors, bitmap
// blocks, flattened record headers and VMCOREINFO values to boundary values, damages
// compressed page data, writes decompression bombs, and builds hostile page tables. Each
// mutant is a list of patches applied to one copy of the sample and undone afterwards
// (`PatchableCopy`). The same seed gives the same mutants on every run, so a failure is
// reproduced by its name. Formats: MalformedKdump.swift; page tables: HostileTables.swift.

import Foundation
import Kdig

/// One damaged variant of a real dump.
public struct Mutant: Sendable, CustomStringConvertible {
  public var name: String
  public var patches: [FilePatch]
  /// Run every command on it (page-table mutants), not the sampled subset.
  public var allCommands = false

  public init(_ name: String, _ patches: [FilePatch], allCommands: Bool = false) {
    self.name = name
    self.patches = patches
    self.allCommands = allCommands
  }

  public var description: String { name }
}

/// A field of a structure, as the generator damages it.
public struct Field: Sendable {
  public var name: String
  /// Offset from the start of the structure.
  public var offset: UInt64
  /// Width in bytes: 1, 2, 4 or 8.
  public var width: Int
  /// All boundary values (true) or a seeded sample of them (false).
  public var every: Bool

  public init(_ name: String, _ offset: UInt64, _ width: Int, every: Bool = false) {
    self.name = name
    self.offset = offset
    self.width = width
    self.every = every
  }
}

/// What the generator knows about the sample it damages, found with kdig on the intact file.
public struct SampleFacts: Sendable {
  /// Physical address of the kernel's top-level page table.
  public var rootTable: UInt64
  /// Physical address of the IDT page.
  public var idtPage: UInt64
  public var pagingLevels: Int

  public init(rootTable: UInt64, idtPage: UInt64, pagingLevels: Int) {
    self.rootTable = rootTable
    self.idtPage = idtPage
    self.pagingLevels = pagingLevels
  }
}

public enum MalformedDumps {
  /// Where the intact sample keeps its kernel page table and IDT (kdig finds them).
  public static func facts(_ sample: Sample) throws -> SampleFacts {
    let session = try Session(dumpPath: sample.file, vmlinuxPath: sample.vmlinux)
    let k = session.kernel
    let idt = try k.kernelSpace.translate(try k.lookup("idt_table").address)
    return SampleFacts(
      rootTable: k.layout.rootTable.value, idtPage: idt & ~0xfff, pagingLevels: k.layout.pagingMode.value.rawValue)
  }

  /// The generator's fixed seed ("kdig11"); each family mixes in its own number.
  public static let seed: UInt64 = 0x6b64_6967_3131

  /// A seeded generator for `family`.
  static func random(_ family: Int) -> KdumpBuilder.SeededRandom {
    KdumpBuilder.SeededRandom(seed: seed ^ UInt64(family) &* 0x9E37_79B9)
  }

  /// 0, 1, max, max-1, the file size, the file size + 1 and the top bit, at `width` bytes.
  public static func boundaries(width: Int, fileSize: UInt64) -> [(String, UInt64)] {
    let bits = UInt64(8 * width)
    let max = bits == 64 ? UInt64.max : (UInt64(1) << bits) - 1
    return [
      ("0", 0), ("1", 1), ("max", max), ("max-1", max - 1), ("filesize", fileSize & max),
      ("filesize+1", (fileSize + 1) & max), ("top-bit", UInt64(1) << (bits - 1)),
    ]
  }

  /// Mutants setting each field of the structure at `base` to boundary values: all seven
  /// for `every` fields, `sampled` of them (seeded) for the others.
  static func fieldMutants(
    _ what: String, base: UInt64, _ fields: [Field], fileSize: UInt64, sampled: Int,
    _ rng: inout KdumpBuilder.SeededRandom, place: (UInt64, [UInt8]) -> [FilePatch] = { [FilePatch($0, $1)] }
  ) -> [Mutant] {
    var out: [Mutant] = []
    for f in fields {
      var values = boundaries(width: f.width, fileSize: fileSize)
      if !f.every {
        values.shuffle(using: &rng)
        values = Array(values.prefix(sampled))
      }
      for (label, v) in values {
        out.append(Mutant("\(what).\(f.name)=\(label)", place(base + f.offset, littleEndian(v, width: f.width))))
      }
    }
    return out
  }

  // MARK: - ELF

  static let elfHeader = [
    Field("EI_CLASS", 4, 1), Field("EI_DATA", 5, 1), Field("e_type", 16, 2), Field("e_machine", 18, 2),
    Field("e_phoff", 32, 8, every: true), Field("e_shoff", 40, 8), Field("e_ehsize", 52, 2),
    Field("e_phentsize", 54, 2), Field("e_phnum", 56, 2, every: true), Field("e_shnum", 60, 2),
  ]
  static let programHeader = [
    Field("p_type", 0, 4), Field("p_offset", 8, 8, every: true), Field("p_vaddr", 16, 8), Field("p_paddr", 24, 8),
    Field("p_filesz", 32, 8, every: true), Field("p_memsz", 40, 8),
  ]
  static let noteHeader = [Field("namesz", 0, 4), Field("descsz", 4, 4, every: true), Field("type", 8, 4)]

  /// ELF header, program headers (PT_NOTE and the first PT_LOAD with every boundary value, a
  /// middle and the last PT_LOAD sampled), the note headers (the first, one random, every
  /// VMCOREINFO and QEMU note) and VMCOREINFO values of an ELF core.
  public static func elf(_ f: DumpBytes, family: Int, valuesPerKey: Int = 1) throws -> [Mutant] {
    var rng = random(family)
    let g = try ElfGeometry(f)
    var out = fieldMutants("ehdr", base: 0, elfHeader, fileSize: f.size, sampled: 1, &rng)
    let loads = g.segments.filter { $0.type == 1 }
    var chosen = g.segments.filter { $0.type == 4 }
    for s in [loads.first, loads.dropFirst().randomElement(using: &rng), loads.last] {
      if let s, !chosen.contains(where: { $0.index == s.index }) { chosen.append(s) }
    }
    let sampledHeader = programHeader.map { Field($0.name, $0.offset, $0.width) }
    for s in chosen {
      let first = s.index == loads.first?.index
      out += fieldMutants(
        "phdr[\(s.index)]", base: s.headerOffset, first ? programHeader : sampledHeader, fileSize: f.size,
        sampled: s.type == 4 ? 2 : 1, &rng)
    }
    let random = g.notes.indices.randomElement(using: &rng)
    let sampledNote = noteHeader.map { Field($0.name, $0.offset, $0.width) }
    for (i, n) in g.notes.enumerated() where i == 0 || i == random || n.name == "VMCOREINFO" || n.name == "QEMU" && i % 2 == 0 {
      let fields = n.name == "VMCOREINFO" ? noteHeader : sampledNote
      out += fieldMutants("note[\(i)](\(n.name))", base: n.headerOffset, fields, fileSize: f.size, sampled: 2, &rng)
    }
    if let load = loads.first {
      // Once trapped `info` (DUMPED MEMORY summed past 2^64 in humanSize).
      out.append(Mutant("regression.phdr[\(load.index)].p_memsz=2^63", [FilePatch(load.headerOffset + 40, littleEndian(1 << 63, width: 8))]))
    }
    if let v = g.vmcoreinfo {
      let text = String(decoding: try f.bytes(v.offset, v.size), as: UTF8.self)
      out += vmcoreinfo(text, at: v.offset, fileSize: f.size, perKey: valuesPerKey, &rng) { [FilePatch($0, $1)] }
      out += regressions.compactMap { key, value in
        edit(text, key: key, value: value).map { Mutant("regression.\(key)=\(value)", [FilePatch(v.offset, $0)]) }
      }
    }
    return out
  }

  /// VMCOREINFO values that once trapped kdig (a negative or huge value made a UInt64 or a
  /// range): kept in every ELF run whatever the seed picks.
  public static let regressions: [(String, String)] = [
    ("LENGTH(node_data)", "18446744073709551615"), ("LENGTH(node_data)", "-1"), ("OFFSET(uts_namespace.name)", "-1"),
    ("SIZE(page)", "-1"), ("OFFSET(page.flags)", "-5"), ("OFFSET(page._refcount)", "99999999999"),
  ]

  // MARK: - VMCOREINFO

  /// Keys kdig reads, and how their values are written.
  static let vmcoreinfoKeys: [(String, ValueKind)] = [
    ("SYMBOL(init_top_pgt)", .hex), ("NUMBER(phys_base)", .decimal), ("KERNELOFFSET", .hex),
    ("NUMBER(pgtable_l5_enabled)", .decimal), ("NUMBER(sme_mask)", .decimal), ("PAGESIZE", .decimal),
    ("OSRELEASE", .text), ("BUILD-ID", .text), ("SYMBOL(node_data)", .hex), ("LENGTH(node_data)", .decimal),
    ("NUMBER(MAX_PHYSMEM_BITS)", .decimal), ("SYMBOL(init_uts_ns)", .hex), ("OFFSET(uts_namespace.name)", .decimal),
    ("SYMBOL(vmemmap)", .hex), ("NUMBER(VMALLOC_START)", .decimal), ("SIZE(page)", .decimal),
    ("OFFSET(page.flags)", .decimal),
  ]

  enum ValueKind { case hex, decimal, text }

  static func values(_ kind: ValueKind, fileSize: UInt64) -> [String] {
    switch kind {
    case .hex:
      return ["0", "1", "ffffffffffffffff", "fffffffffffffffe", "8000000000000000", String(fileSize, radix: 16), "zz", ""]
    case .decimal:
      return [
        "0", "1", "-1", "18446744073709551615", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999999", String(fileSize), "",
      ]
    case .text: return ["", "x", String(repeating: "A", count: 200), "\u{7f}\u{1}"]
    }
  }

  /// Lines kdig never reads (zone and free-list layout): dropped to make room when a new
  /// value is longer than the old one, so the text keeps its size and place.
  static let sacrificial = ["NUMBER(PAGE_", "OFFSET(zone.", "SIZE(zone)", "SIZE(free_area)", "OFFSET(free_area.",
    "LENGTH(zone.free_area)", "SIZE(nodemask_t)"]

  /// Mutants giving VMCOREINFO keys boundary values (and removing each key), the text
  /// rewritten in place at its original length.
  static func vmcoreinfo(
    _ text: String, at offset: UInt64, fileSize: UInt64, perKey: Int, _ rng: inout KdumpBuilder.SeededRandom,
    place: (UInt64, [UInt8]) -> [FilePatch]
  ) -> [Mutant] {
    var out: [Mutant] = []
    for (key, kind) in vmcoreinfoKeys where text.contains("\n\(key)=") || text.hasPrefix("\(key)=") {
      var choices = values(kind, fileSize: fileSize).map { Optional($0) }
      choices.shuffle(using: &rng)
      // Removing a key: for the keys that place the kernel (the first five) only.
      let removals: [String?] = vmcoreinfoKeys.prefix(5).contains { $0.0 == key } ? [nil] : []
      for value in Array(choices.prefix(perKey)) + removals {
        guard let bytes = edit(text, key: key, value: value) else { continue }
        let label = value.map { $0.count > 24 ? "\($0.prefix(8))…(\($0.count))" : $0 } ?? "<removed>"
        out.append(Mutant("vmcoreinfo.\(key)=\(label)", place(offset, bytes)))
      }
    }
    return out
  }

  /// `text` with `key` set to `value` (removed when nil), at the same length: padded with
  /// newlines, or made room for by dropping lines kdig never reads; nil if it cannot fit.
  static func edit(_ text: String, key: String, value: String?) -> [UInt8]? {
    let length = text.utf8.count
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    guard let index = lines.firstIndex(where: { $0.hasPrefix(key + "=") }) else { return nil }
    if let value { lines[index] = "\(key)=\(value)" } else { lines.remove(at: index) }
    var body = lines.joined(separator: "\n") + "\n"
    var drop = lines.indices.filter { i in sacrificial.contains { lines[i].hasPrefix($0) } }
    while body.utf8.count > length, let victim = drop.popLast() {
      lines.remove(at: victim)
      body = lines.joined(separator: "\n") + "\n"
    }
    guard body.utf8.count <= length else { return nil }
    return Array(body.utf8) + [UInt8](repeating: 0x0a, count: length - body.utf8.count)
  }
}
