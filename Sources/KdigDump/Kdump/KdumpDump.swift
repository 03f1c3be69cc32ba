// makedumpfile's compressed kdump ("KDUMP   ", header versions 0-6+), QEMU's kdump-*
// output and legacy "DISKDUMP" files, read from any ByteSource (a mapped file or the
// logical file of a flattened stream). dump-formats.md §1; crash diskdump.c;
// libkdumpfile diskdump.c. Opening validates the header, collects the notes and counts
// the dumped-pages bitmap once (needed to find the last descriptor); page data is only
// read when asked for, and the RAM ranges are computed on first use.

import KdigBinary
import KdigCodecs
import KdigMemory

/// A compressed kdump or diskdump file.
public final class KdumpDump: DumpFile {
  /// A note blob or VMCOREINFO text larger than this is refused rather than read.
  static let maxNoteBytes: UInt64 = 64 << 20

  /// The path the user gave.
  public let path: String
  /// Size of the file on disk (of the flattened stream, for a flattened file).
  public let fileSize: UInt64
  /// block_size, which kdig requires to be 4096.
  public let pageSize = DiskDumpHeader.expectedBlockSize
  /// Header facts; `dumpedPages` counts this file's descriptors.
  public private(set) var summary: DumpSummary
  /// NT_PRSTATUS, QEMU and VMCOREINFO notes from the note blob.
  public let notes: DumpNotes

  let source: ByteSource
  let layout: KdumpLayout
  let header: DiskDumpHeader
  /// Bitmap 1 (pfn is RAM), or the only bitmap of a single-bitmap file.
  let ramBitmap: PageBitmap
  /// Bitmap 2 (pfn dumped) and its descriptor index.
  let descriptors: DescriptorIndex
  /// The header's DUMP_DH_COMPRESSED_INCOMPLETE (or legacy DUMP_HEADER_INCOMPLETED).
  let incomplete: Bool
  let cache = PageCache(slots: 64)
  private var cachedRanges: [PhysicalRange]?

  /// True when `head` starts with "KDUMP   " or "DISKDUMP".
  public static func hasSignature(_ head: ByteView) -> Bool {
    head.matches(DiskDumpHeader.kdumpSignature, at: 0)
      || head.matches(DiskDumpHeader.diskdumpSignature, at: 0)
  }

  /// Opens the kdump held by `source`; `path` and `fileSize` describe the file on disk.
  public init(source: ByteSource, path: String, fileSize: UInt64) throws {
    self.source = source
    self.path = path
    self.fileSize = fileSize
    let h = try DiskDumpHeader(parsing: source)
    header = h
    // A diskdump's sub header is a different, register-only structure: not read.
    let sub = h.kind == .kdump
      ? try KdumpSubHeader(parsing: source, at: UInt64(h.blockSize), version: h.version)
      : KdumpSubHeader()
    let layout = try KdumpLayout(header: h, sub: sub, source: source)
    self.layout = layout
    notes = try Self.readNotes(source, header: h, sub: sub)

    ramBitmap = PageBitmap(
      view: try source.view(
        at: layout.ramBitmapOffset, count: Int(layout.bitmapBytes),
        layout.twoBitmaps ? "bitmap 1 (RAM pages)" : "the page bitmap"))
    let dumpable = layout.twoBitmaps
      ? PageBitmap(
        view: try source.view(
          at: layout.dumpableBitmapOffset, count: Int(layout.bitmapBytes), "bitmap 2 (dumped pages)"))
      : ramBitmap
    descriptors = DescriptorIndex(bitmap: dumpable, range: layout.firstPFN..<layout.endPFN)

    switch h.kind {
    case .kdump: incomplete = h.status & 0x8 != 0  // DUMP_DH_COMPRESSED_INCOMPLETE
    case .diskdump: incomplete = h.status & 0x1 != 0  // DUMP_HEADER_INCOMPLETED
    }
    summary = Self.describe(header: h, sub: sub, layout: layout, notes: notes)
    summary.incomplete = incomplete
    summary.dumpedPages = descriptors.total
    // Layout first (bitmaps, where the data starts), then truncation: a damaged bitmap 2
    // moves the end of the descriptor table, and that is the error to report.
    try checkBitmapsAgree()
    try checkFirstDescriptor()
    if !incomplete { try checkNotTruncated() }
  }

  /// Records that the file on disk is makedumpfile's flattened stream (`-F`).
  func markFlattened() { summary.flattened = true }

  /// RAM ranges: runs of set bits in bitmap 1 (the split range only, for one part of a
  /// split dump), computed on first use.
  public var ranges: [PhysicalRange] {
    if let cachedRanges { return cachedRanges }
    let size = layout.blockSize
    // pfn < 2^40 and size = 4096: no overflow.
    let found = ramBitmap.runs(in: layout.firstPFN..<layout.endPFN).map {
      PhysicalRange(start: $0.lowerBound * size, end: $0.upperBound * size)
    }
    cachedRanges = found
    return found
  }

  private static func describe(
    header h: DiskDumpHeader, sub: KdumpSubHeader, layout: KdumpLayout, notes: DumpNotes
  ) -> DumpSummary {
    var s: DumpSummary
    switch h.kind {
    case .diskdump:
      s = DumpSummary(format: .diskdump, producer: "diskdump")
      // Legacy DUMP_HEADER_COMPRESSED (8): diskdump only ever compressed with zlib.
      s.compression = h.status & 0x8 != 0 ? "zlib" : "none"
    case .kdump:
      // A kdig extract keeps a QEMU dump's CPU notes but was written by kdig.
      let qemu = !notes.qemuCPUs.isEmpty && notes.kdigExtract == nil
      s = DumpSummary(
        format: qemu ? .kdumpQEMU : .kdumpCompressed,
        producer: notes.kdigExtract.map { "kdig extract (\($0))" } ?? (qemu ? "QEMU dump-guest-memory" : "makedumpfile"))
      let codec = PageCompression.allCases.first { h.status & $0.flag != 0 }
      s.compression = codec?.rawValue ?? "none"
      s.excludedVmemmap = h.status & 0x10 != 0  // DUMP_DH_EXCLUDED_VMEMMAP
      if h.version >= 1 {
        s.dumpLevel = Int(sub.dumpLevel)
        s.headerPhysBase = sub.physBase
      }
    }
    s.headerVersion = h.version
    s.maxPFN = layout.maxPFN
    s.headerCPUs = Int(h.nrCPUs)
    s.headerRelease = h.release
    if let split = layout.split {
      s.splitRange = ClosedRangeCodable(start: split.lowerBound, end: split.upperBound)
    }
    return s
  }

  /// ELF notes from offset_note/size_note (version 4+), else the VMCOREINFO text from
  /// offset_vmcoreinfo/size_vmcoreinfo (version 3+), as crash trusts them (§1.3).
  private static func readNotes(_ source: ByteSource, header h: DiskDumpHeader, sub: KdumpSubHeader)
    throws -> DumpNotes
  {
    var notes = DumpNotes()
    guard h.kind == .kdump else { return notes }
    let subOffset = UInt64(h.blockSize)
    if h.version >= 4 && sub.noteOffset != 0 && sub.noteSize != 0 {
      let blob = try boundedView(
        source, at: sub.noteOffset, size: sub.noteSize, field: subOffset + 48, "the ELF note blob")
      try notes.collect(try parseElfNotes(blob))
    }
    if notes.vmcoreinfo == nil && h.version >= 3 && sub.vmcoreinfoOffset != 0
      && sub.vmcoreinfoSize != 0
    {
      let text = try boundedView(
        source, at: sub.vmcoreinfoOffset, size: sub.vmcoreinfoSize, field: subOffset + 32,
        "the VMCOREINFO text")
      let bytes = withExtendedLifetime(text) { Array(text.bytes) }
      let end = bytes.firstIndex(of: 0) ?? bytes.count
      notes.vmcoreinfo = String(decoding: bytes[..<end], as: UTF8.self)
      notes.vmcoreinfoOffset = sub.vmcoreinfoOffset
    }
    return notes
  }

  private static func boundedView(
    _ source: ByteSource, at offset: UInt64, size: UInt64, field: UInt64, _ what: String
  ) throws(BinaryError) -> ByteView {
    guard size <= maxNoteBytes else {
      throw BinaryError(
        file: source.name, offset: field, expected: "\(what) of at most \(maxNoteBytes) bytes",
        found: "\(size) bytes")
    }
    return try source.view(at: offset, count: Int(size), "\(what) (0x\(hex(size)) bytes)")
  }
}
