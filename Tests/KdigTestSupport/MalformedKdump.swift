// The compressed-kdump part of the malformed-dump generator: disk_dump_header and
// kdump_sub_header fields, a sample of page descriptors, bitmap blocks, compressed page
// data, decompression bombs and, for flattened streams, record headers. Offsets are
// logical (the kdump inside a flattened stream) and turned into file patches by
// `LogicalFile`, so the same mutants apply to flattened and plain files.

import Foundation
import KdigCodecs

extension MalformedDumps {
  static let diskDumpHeader = [
    Field("header_version", 8, 4), Field("status", 424, 4), Field("block_size", 428, 4, every: true),
    Field("sub_hdr_size", 432, 4, every: true), Field("bitmap_blocks", 436, 4, every: true),
    Field("max_mapnr", 440, 4, every: true), Field("nr_cpus", 460, 4),
  ]
  static let subHeader = [
    Field("phys_base", 0, 8), Field("dump_level", 8, 4), Field("split", 12, 4), Field("start_pfn", 16, 8),
    Field("end_pfn", 24, 8), Field("offset_vmcoreinfo", 32, 8), Field("size_vmcoreinfo", 40, 8),
    Field("offset_note", 48, 8, every: true), Field("size_note", 56, 8, every: true), Field("offset_eraseinfo", 64, 8),
    Field("size_eraseinfo", 72, 8), Field("start_pfn_64", 80, 8), Field("end_pfn_64", 88, 8),
    Field("max_mapnr_64", 96, 8, every: true),
  ]
  static let pageDescriptor = [
    Field("offset", 0, 8, every: true), Field("size", 8, 4, every: true), Field("flags", 12, 4), Field("page_flags", 16, 8),
  ]

  /// Which parts of a compressed kdump the generator damages.
  public struct KdumpParts: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let header = KdumpParts(rawValue: 1)
    public static let subHeader = KdumpParts(rawValue: 2)
    /// The first, last, root-table, IDT and a random descriptor (else the root table's only).
    public static let descriptors = KdumpParts(rawValue: 4)
    public static let bitmaps = KdumpParts(rawValue: 8)
    public static let pageData = KdumpParts(rawValue: 16)
    public static let bombs = KdumpParts(rawValue: 32)
    public static let vmcoreinfo = KdumpParts(rawValue: 64)
    public static let records = KdumpParts(rawValue: 128)
    public static let all: KdumpParts = [.header, .subHeader, .descriptors, .bitmaps, .pageData, .bombs, .vmcoreinfo, .records]
  }

  /// Mutants of a compressed kdump (plain or flattened) in the `parts` asked for.
  public static func kdump(_ f: DumpBytes, facts: SampleFacts, family: Int, parts: KdumpParts = .all) throws -> [Mutant] {
    var rng = random(family)
    let file = try LogicalFile(f)
    let g = try KdumpGeometry(file)
    let place: (UInt64, [UInt8]) -> [FilePatch] = { file.patches($0, $1) }
    let size = f.size
    var out: [Mutant] = []
    if parts.contains(.header) {
      out += fieldMutants("header", base: 0, diskDumpHeader, fileSize: size, sampled: 2, &rng, place: place)
    }
    if parts.contains(.subHeader) {
      out += fieldMutants("sub", base: g.blockSize, subHeader, fileSize: size, sampled: 1, &rng, place: place)
    }
    let rootDesc = g.descriptorOffset(ofPFN: facts.rootTable >> 12)
    // The root table's descriptor gets every boundary value; the others a sample.
    if let rootDesc {
      out += fieldMutants("page_desc(root-table)", base: rootDesc, pageDescriptor, fileSize: size, sampled: 1, &rng, place: place)
    }
    if parts.contains(.descriptors) {
      var descs: [(String, UInt64)] = [("first", g.descriptorOffset), ("last", g.tableEnd - 24)]
      if let idt = g.descriptorOffset(ofPFN: facts.idtPage >> 12) { descs.append(("idt", idt)) }
      descs.append(("random", g.descriptorOffset + rng.next() % max(g.descriptorCount, 1) * 24))
      let sampled = pageDescriptor.map { Field($0.name, $0.offset, $0.width) }
      for (label, at) in descs {
        out += fieldMutants("page_desc(\(label))", base: at, sampled, fileSize: size, sampled: 1, &rng, place: place)
      }
    }
    if parts.contains(.bitmaps) { out += bitmaps(g, facts: facts, &rng, place: place) }
    if parts.contains(.pageData), let rootDesc { out += pageData(g, descriptor: rootDesc, &rng, place: place) }
    if parts.contains(.bombs), let rootDesc { out += try bombs(g, descriptor: rootDesc, place: place) }
    if parts.contains(.vmcoreinfo), g.vmcoreinfoSize > 0, g.vmcoreinfoSize < 1 << 20 {
      let text = String(decoding: try file.bytes(g.vmcoreinfoOffset, Int(g.vmcoreinfoSize)), as: UTF8.self)
      out += vmcoreinfo(text, at: g.vmcoreinfoOffset, fileSize: size, perKey: 1, &rng, place: place)
    }
    if parts.contains(.records), file.flattened { out += records(file, fileSize: size, &rng) }
    return out
  }

  /// Bitmap blocks: the one holding the root table's bit cleared or noise in bitmap 1 (RAM),
  /// set or noise in bitmap 2 (dumped), and block 0 and a random block of both all set.
  static func bitmaps(
    _ g: KdumpGeometry, facts: SampleFacts, _ rng: inout KdumpBuilder.SeededRandom,
    place: (UInt64, [UInt8]) -> [FilePatch]
  ) -> [Mutant] {
    let bs = g.blockSize
    let blocks = max(g.bitmapBytes / bs, 1)
    let rootBlock = min((facts.rootTable >> 12) / 8 / bs, blocks - 1)
    let randomBlock = rng.next() % blocks
    func fill(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: Int(bs)) }
    let noise = (0..<Int(bs)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let cases: [(String, UInt64, UInt64, [UInt8])] = [
      ("bitmap1", g.bitmap1Offset, rootBlock, fill(0)), ("bitmap1", g.bitmap1Offset, rootBlock, noise),
      ("bitmap2", g.bitmap2Offset, rootBlock, fill(0xff)), ("bitmap2", g.bitmap2Offset, rootBlock, noise),
      ("bitmap1", g.bitmap1Offset, 0, fill(0xff)), ("bitmap2", g.bitmap2Offset, 0, fill(0xff)),
      ("bitmap1", g.bitmap1Offset, randomBlock, fill(0xff)), ("bitmap2", g.bitmap2Offset, randomBlock, fill(0xff)),
    ]
    return cases.map { which, base, block, bytes in
      let label = bytes == noise ? "noise" : bytes.first == 0 ? "zero" : "ones"
      return Mutant("\(which).block[\(block)]=\(label)", place(base + block * bs, bytes))
    }
  }

  /// The compressed data of the page a descriptor points at: noise at its start, all noise,
  /// one flipped byte in the middle.
  static func pageData(
    _ g: KdumpGeometry, descriptor: UInt64, _ rng: inout KdumpBuilder.SeededRandom,
    place: (UInt64, [UInt8]) -> [FilePatch]
  ) -> [Mutant] {
    guard let d = try? g.descriptor(at: descriptor), d.size > 0, d.size <= 4096 else { return [] }
    let noise = (0..<Int(d.size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let middle = (try? g.file.bytes(d.offset + d.size / 2, 1).first) ?? 0
    return [
      Mutant("page-data(root-table).head=noise", place(d.offset, Array(noise.prefix(16)))),
      Mutant("page-data(root-table).all=noise", place(d.offset, noise)),
      Mutant("page-data(root-table).flip-middle", place(d.offset + d.size / 2, [middle ^ 0x5a])),
    ]
  }

  /// Decompression bombs: streams that decode past (or short of) one page, written over the
  /// shared zero page and given to the root table's descriptor.
  static func bombs(
    _ g: KdumpGeometry, descriptor: UInt64, place: (UInt64, [UInt8]) -> [FilePatch]
  ) throws -> [Mutant] {
    let cases: [(String, Int, PageCompression)] = [
      ("zlib-1MiB", 1 << 20, .zlib), ("zlib-4097", 4097, .zlib), ("zlib-4095", 4095, .zlib),
      ("zstd-1MiB", 1 << 20, .zstd), ("lzo-64KiB", 64 << 10, .lzo), ("snappy-16KiB", 16 << 10, .snappy),
    ]
    var out: [Mutant] = []
    for (label, length, codec) in cases {
      let stream = try compressPage([UInt8](repeating: 0, count: length), codec: codec)
      guard stream.count <= 4096 else { continue }
      let desc = littleEndian(g.tableEnd, width: 8) + littleEndian(UInt64(stream.count), width: 4)
        + littleEndian(UInt64(codec.flag), width: 4)
      out.append(Mutant("bomb.\(label)", place(g.tableEnd, stream) + place(descriptor, desc)))
    }
    return out
  }

  /// Flattened record headers (the first, the one holding the descriptor table, the last and
  /// a random one): their logical offset and size set to boundary values.
  static func records(_ file: LogicalFile, fileSize: UInt64, _ rng: inout KdumpBuilder.SeededRandom) -> [Mutant] {
    guard !file.records.isEmpty else { return [] }
    var picks = [0, file.records.count - 1, Int(rng.next() % UInt64(file.records.count))]
    if file.records.count > 2 { picks.append(2) }
    var out: [Mutant] = []
    for i in Set(picks).sorted() {
      let r = file.records[i]
      for (field, at) in [("offset", r.headerOffset), ("size", r.headerOffset + 8)] {
        var values = boundaries(width: 8, fileSize: fileSize) + [("-1", UInt64.max), ("-2", UInt64.max - 1)]
        values.shuffle(using: &rng)
        for (label, v) in values.prefix(3) {
          out.append(Mutant("record[\(i)].\(field)=\(label)", [FilePatch(at, bigEndian64(v))]))
        }
      }
    }
    // The end marker removed (the stream then ends on a record boundary or in garbage).
    if let last = file.records.last, last.payload + last.size + 8 <= fileSize {
      out.append(Mutant("record.end-marker=0", [FilePatch(last.payload + last.size, bigEndian64(0))]))
    }
    return out
  }
}
