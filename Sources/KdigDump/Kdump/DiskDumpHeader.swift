// Block 0 of a compressed kdump or diskdump file: struct disk_dump_header, x86-64 layout
// (makedumpfile diskdump_mod.h:44-66; libkdumpfile diskdump.c disk_dump_header_64;
// dump-formats.md §1.2). Checks here are the ones that need no other structure.

import KdigBinary

/// The fields of `struct disk_dump_header` kdig uses.
struct DiskDumpHeader {
  /// sizeof(struct disk_dump_header) on x86-64, without the legacy tasks[] array.
  static let size = 464
  /// The only page size kdig reads (x86-64).
  static let expectedBlockSize = 4096

  enum Kind {
    /// "KDUMP   ": makedumpfile or QEMU.
    case kdump
    /// "DISKDUMP": the legacy diskdump driver.
    case diskdump
  }

  static let kdumpSignature = Array("KDUMP   ".utf8)
  static let diskdumpSignature = Array("DISKDUMP".utf8)

  var kind: Kind
  /// header_version @8 (makedumpfile and QEMU write 6).
  var version: Int
  /// utsname.release @142.
  var release: String
  /// utsname.machine @272.
  var machine: String
  /// status @424: codec and incomplete/vmemmap flags (§1.8).
  var status: UInt32
  /// block_size @428, validated to be 4096.
  var blockSize: Int
  /// sub_hdr_size @432, in blocks.
  var subHeaderBlocks: UInt64
  /// bitmap_blocks @436: blocks of both bitmaps together.
  var bitmapBlocks: UInt64
  /// max_mapnr @440, truncated to 32 bits; obsolete from header version 6.
  var maxMapnr32: UInt64
  /// nr_cpus @460.
  var nrCPUs: Int32

  init(parsing source: ByteSource) throws {
    let h = try source.view(at: 0, count: Self.size, "a disk_dump_header")
    if h.matches(Self.kdumpSignature, at: 0) {
      kind = .kdump
    } else if h.matches(Self.diskdumpSignature, at: 0) {
      kind = .diskdump
    } else {
      throw BinaryError(file: source.name, offset: 0, expected: "signature \"KDUMP   \" or \"DISKDUMP\"")
    }
    let v = try h.i32(8, "header_version")
    guard v >= 0 else {
      throw BinaryError(
        file: source.name, offset: 8, expected: "a header_version of at least 0", found: "\(v)")
    }
    version = Int(v)
    release = try h.fixedString(142, 65, "utsname.release")
    machine = try h.fixedString(272, 65, "utsname.machine")
    // QEMU fills only `machine`, and falls back to "Unknown" when the target does not
    // define ELF_MACHINE_UNAME (qemu dump/dump.c); makedumpfile copies the kernel's uname.
    guard ["x86_64", "", "Unknown"].contains(machine) else {
      throw UnsupportedError(
        file: source.name,
        reason: "offset 0x110: utsname.machine is \"\(machine)\"; kdig reads x86_64 dumps only")
    }
    status = try h.u32(424, "status")
    let bs = try h.i32(428, "block_size")
    // libkdumpfile try_header: a power of two between 4 KiB and 64 KiB.
    guard bs >= 4096, bs <= 65536, bs & (bs - 1) == 0 else {
      throw BinaryError(
        file: source.name, offset: 428,
        expected: "block_size a power of two between 4096 and 65536", found: "\(bs)")
    }
    guard Int(bs) == Self.expectedBlockSize else {
      throw UnsupportedError(
        file: source.name,
        reason: "offset 0x1ac: block_size \(bs); kdig reads x86-64 dumps with 4096-byte pages")
    }
    blockSize = Int(bs)
    let sub = try h.i32(432, "sub_hdr_size")
    // A kdump sub header (from version 1) needs at least one block.
    let minimum: Int32 = kind == .kdump && version >= 1 ? 1 : 0
    guard sub >= minimum else {
      throw BinaryError(
        file: source.name, offset: 432, expected: "sub_hdr_size of at least \(minimum) blocks",
        found: "\(sub)")
    }
    subHeaderBlocks = UInt64(sub)
    bitmapBlocks = UInt64(try h.u32(436, "bitmap_blocks"))
    maxMapnr32 = UInt64(try h.u32(440, "max_mapnr"))
    nrCPUs = try h.i32(460, "nr_cpus")
  }
}
