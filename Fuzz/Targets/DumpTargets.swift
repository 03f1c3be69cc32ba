// The dump-file formats, each opened from the input's bytes as `openDump` opens a mapped
// file, then read: the notes they collected at open, and a few pages of physical memory
// (first and last bytes of leading ranges, which crosses page and segment boundaries).

import KdigBinary
import KdigDump
import KdigKernel
import KdigMemory

enum DumpReads {
  /// Ranges and pages read per input: enough to reach page data, few enough to stay fast.
  static let maxRanges = 8

  /// Reads the edges of the first ranges of `dump`, and what its notes hold.
  /// Throws what stopped the kernel locator (the last step), for replays.
  static func exercise(_ dump: any DumpFile) throws {
    let notes = dump.notes
    _ = notes.prstatus.map { $0.register("rip") }
    _ = notes.qemuCPUs.map { ($0.cr3, $0.la57, $0.register("rsp")) }
    _ = notes.vmcoreinfo?.utf8.count
    _ = dump.summary
    var buffer = [UInt8](repeating: 0, count: 64)
    for range in dump.ranges.prefix(maxRanges) {
      let last = range.end > 64 ? range.end - 64 : 0
      for address in [range.start, last, range.start &+ 4094] {
        buffer.withUnsafeMutableBytes { try? dump.read(address, into: $0) }
      }
    }
    _ = dump.describedMemorySize
    // What a session does next: place the kernel from VMCOREINFO, a kernel-text segment or
    // the CPU notes (which walks page tables in the dump's memory).
    let info = notes.vmcoreinfo.map { VMCoreInfo(text: $0) }
    _ = try KernelLocator(dump: dump, vmcoreinfo: info, vmlinux: nil).locate()
  }
}

/// ELF64 core files (kdump /proc/vmcore copies and QEMU dump-guest-memory).
enum ElfCoreTarget {
  static func run(_ bytes: [UInt8]) throws {
    let source = FuzzByteSource(bytes)
    let dump = try ElfCoreDump(source: source, path: source.name, fileSize: source.size)
    try DumpReads.exercise(dump)
    for range in dump.ranges.prefix(DumpReads.maxRanges) { _ = dump.fileOffset(ofPhysical: range.start) }
  }
}

/// Compressed kdump and diskdump files, whole-file: open (header checks, notes, bitmaps,
/// descriptor count and truncation check), then decode pages.
enum KdumpTarget {
  static func run(_ bytes: [UInt8]) throws {
    let source = FuzzByteSource(bytes)
    let dump = try KdumpDump(source: source, path: source.name, fileSize: source.size)
    try DumpReads.exercise(dump)
  }
}

/// makedumpfile's flattened stream: the record scan, reads of the logical file (inside one
/// record and assembled across records), then the kdump inside it, as `openDump` does.
enum FlattenedTarget {
  static func run(_ bytes: [UInt8]) throws {
    let source = FuzzByteSource(bytes)
    let flat = try FlattenedFile(file: source)
    let size = flat.size
    for (offset, count) in [(0, 4096), (size / 2, 100), (size > 8192 ? size - 8192 : 0, 8192)] {
      _ = try? flat.view(at: offset, count: count, "fuzz read")
    }
    let dump = try openDump(source: source, path: source.name, fileSize: source.size)
    try DumpReads.exercise(dump)
  }
}
