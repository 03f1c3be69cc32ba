// ELF64 vmcores: kdump's /proc/vmcore (kernel-text and direct-map PT_LOADs, virtual addresses
// set) and QEMU's dump-guest-memory (physical-only PT_LOADs, "QEMU" CPU notes). Physical
// reads binary-search non-overlapping segments; bytes past p_filesz read as zero.

import KdigBinary
import KdigMemory

/// An ELF64 x86-64 core file.
public final class ElfCoreDump: DumpFile {
  /// Program headers beyond this are refused (QEMU writes one per RAM block).
  static let maxSegments = 1 << 20
  /// A note segment larger than this is refused rather than read.
  static let maxNoteBytes = 64 << 20

  public let path: String
  public let fileSize: UInt64
  public let pageSize = 4096
  public private(set) var summary: DumpSummary
  public private(set) var notes = DumpNotes()
  public let ranges: [PhysicalRange]
  /// Kernel-text PT_LOAD (p_vaddr ≥ __START_KERNEL_map) of a kdump vmcore: (vaddr, paddr).
  public let kernelTextSegment: (vaddr: UInt64, paddr: UInt64, size: UInt64)?
  /// Direct-map PT_LOAD of a kdump vmcore: p_vaddr − p_paddr (page_offset_base).
  public let directMapOffset: UInt64?

  private let source: ByteSource
  private let segments: [Segment]

  /// A PT_LOAD clipped so that segments do not overlap.
  struct Segment {
    var start: UInt64
    var end: UInt64
    var fileOffset: UInt64
    /// Bytes backed by the file from `start`; the rest of the segment reads as zero.
    var fileBacked: UInt64
  }

  public init(source: ByteSource, path: String, fileSize: UInt64) throws {
    self.source = source
    self.path = path
    self.fileSize = fileSize
    let header = try ElfCoreHeader(parsing: source)
    guard header.phnum <= Self.maxSegments else {
      throw BinaryError(
        file: source.name, offset: 56, expected: "at most \(Self.maxSegments) program headers",
        found: "\(header.phnum)")
    }
    let math = CheckedArithmetic(file: source.name, offset: 32)
    let tableSize = try math.multiply(UInt64(header.phnum), UInt64(header.phentsize), "program header table size")
    let table = try source.view(
      at: header.phoff, count: Int(tableSize), "program header table (\(header.phnum) entries)")

    var loads: [ProgramHeader] = []
    var collected = DumpNotes()
    for i in 0..<header.phnum {
      let ph = try ProgramHeader(
        parsing: try table.slice(i * header.phentsize, header.phentsize, "program header \(i)"), index: i)
      let at = CheckedArithmetic(file: source.name, offset: table.location(i * header.phentsize))
      switch ph.type {
      case ElfCoreHeader.PT_NOTE:
        guard ph.filesz <= UInt64(Self.maxNoteBytes) else {
          throw BinaryError(
            file: source.name, offset: table.location(i * header.phentsize + 32),
            expected: "a note segment of at most \(Self.maxNoteBytes) bytes", found: "\(ph.filesz)")
        }
        _ = try at.add(ph.offset, ph.filesz, "PT_NOTE end")
        let view = try source.view(at: ph.offset, count: Int(ph.filesz), "PT_NOTE segment \(i)")
        try collected.collect(try parseElfNotes(view))
      case ElfCoreHeader.PT_LOAD:
        let end = try at.add(ph.offset, ph.filesz, "segment \(i) file end")
        guard ph.filesz <= ph.memsz else {
          throw BinaryError(
            file: source.name, offset: table.location(i * header.phentsize + 32),
            expected: "p_filesz <= p_memsz in segment \(i)", found: "\(ph.filesz) > \(ph.memsz)")
        }
        guard end <= source.size else {
          throw BinaryError(
            file: source.name, offset: ph.offset,
            expected: "segment \(i) data (0x\(hex(ph.filesz)) bytes from offset 0x\(hex(ph.offset)))",
            found: "file ends at 0x\(hex(source.size))")
        }
        _ = try at.add(ph.paddr, ph.memsz, "segment \(i) physical end")
        loads.append(ph)
      default:
        continue
      }
    }
    notes = collected

    let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
    let isQEMU = !collected.qemuCPUs.isEmpty
    var summary = DumpSummary(
      format: isQEMU ? .elfQEMU : .elfKdump,
      producer: isQEMU ? "QEMU dump-guest-memory" : "kdump (/proc/vmcore)")
    summary.segmentCount = loads.count
    summary.incomplete = header.flags & ElfCoreHeader.DUMP_ELF_INCOMPLETE != 0
    // QEMU writes p_vaddr = p_paddr (or a guest VA only with paging=true): never a kernel VA.
    let text = isQEMU ? nil : loads.first { $0.vaddr >= startKernelMap && $0.paddr != .max }
    kernelTextSegment = text.map { ($0.vaddr, $0.paddr, $0.memsz) }
    let direct = isQEMU ? nil : loads.last {
      $0.vaddr >= 0xffff_8000_0000_0000 && $0.vaddr < startKernelMap && $0.paddr != .max
    }
    directMapOffset = direct.map { $0.vaddr &- $0.paddr }
    self.summary = summary

    // /proc/kcore-style segments without a physical address cannot be indexed physically.
    let physical = loads.filter { $0.paddr != .max }
    segments = Self.nonOverlapping(physical)
    ranges = Self.merged(segments)
  }

  /// Sorts segments by physical address and clips overlaps (kdump's kernel-text PT_LOAD
  /// repeats bytes of a direct-map PT_LOAD).
  static func nonOverlapping(_ loads: [ProgramHeader]) -> [Segment] {
    let sorted = loads.filter { $0.memsz > 0 }.sorted {
      $0.paddr != $1.paddr ? $0.paddr < $1.paddr : $0.memsz > $1.memsz
    }
    var out: [Segment] = []
    var covered: UInt64 = 0
    for ph in sorted {
      let end = ph.paddr + ph.memsz  // checked at parse time
      if !out.isEmpty && end <= covered { continue }
      var seg = Segment(start: ph.paddr, end: end, fileOffset: ph.offset, fileBacked: ph.filesz)
      if !out.isEmpty && seg.start < covered {
        let skip = covered - seg.start
        seg.start = covered
        seg.fileOffset += min(skip, seg.fileBacked)
        seg.fileBacked -= min(skip, seg.fileBacked)
      }
      out.append(seg)
      covered = end
    }
    return out
  }

  static func merged(_ segments: [Segment]) -> [PhysicalRange] {
    var out: [PhysicalRange] = []
    for s in segments {
      if let last = out.last, last.end == s.start {
        out[out.count - 1].end = s.end
      } else {
        out.append(PhysicalRange(start: s.start, end: s.end))
      }
    }
    return out
  }

  /// Index of the segment containing `address`, by binary search.
  func segmentIndex(_ address: UInt64) -> Int? {
    var lo = 0
    var hi = segments.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if segments[mid].end <= address { lo = mid + 1 } else { hi = mid }
    }
    guard lo < segments.count, segments[lo].start <= address else { return nil }
    return lo
  }

  /// The file offset holding physical `address`, or nil when the file does not store it
  /// (a hole, or a p_filesz < p_memsz tail). Tools that patch or carve dumps use this.
  public func fileOffset(ofPhysical address: UInt64) -> UInt64? {
    guard let i = segmentIndex(address) else { return nil }
    let seg = segments[i]
    let into = address - seg.start
    guard into < seg.fileBacked else { return nil }
    return seg.fileOffset + into
  }

  public func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    var done = 0
    while done < buffer.count {
      let (a, overflow) = address.addingReportingOverflow(UInt64(done))
      guard !overflow, let i = segmentIndex(a) else {
        throw MemoryError(address: address &+ UInt64(done), reason: .notCovered, source: path)
      }
      let seg = segments[i]
      let into = a - seg.start
      let n = Int(min(UInt64(buffer.count - done), seg.end - a))
      let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)])
      if into >= seg.fileBacked {
        target.initializeMemory(as: UInt8.self, repeating: 0)
      } else {
        let fromFile = Int(min(UInt64(n), seg.fileBacked - into))
        do {
          let v = try source.view(at: seg.fileOffset + into, count: fromFile, "segment data")
          v.withUnsafeBytes { src in
            if let s = src.baseAddress, let dst = target.baseAddress { dst.copyMemory(from: s, byteCount: fromFile) }
          }
        } catch {
          throw MemoryError(address: a, reason: .corrupt(error.description), source: path)
        }
        if fromFile < n {
          UnsafeMutableRawBufferPointer(rebasing: target[fromFile...]).initializeMemory(
            as: UInt8.self, repeating: 0)
        }
      }
      done += n
    }
  }
}
