// struct kdump_sub_header at file offset block_size (makedumpfile diskdump_mod.h:72-91,
// dump-formats.md §1.3). Each header version adds fields; only the bytes the version has
// are read, and fields it lacks stay zero.

import KdigBinary

/// The sub header of a "KDUMP   " file.
struct KdumpSubHeader {
  /// Bytes of the sub header that exist in header versions 0…6.
  static let sizeByVersion = [0, 12, 32, 48, 64, 80, 104]

  /// phys_base @0 (v1); QEMU's value is unreliable (§1.11).
  var physBase: UInt64 = 0
  /// dump_level @8 (v1).
  var dumpLevel: Int32 = 0
  /// split @12 (v2).
  var split: Bool = false
  /// start_pfn/end_pfn @16/@24 (v2), or start_pfn_64/end_pfn_64 @80/@88 (v6).
  var startPFN: UInt64 = 0
  var endPFN: UInt64 = 0
  /// Where the split range came from, for messages.
  var splitRangeOffset: UInt64 = 0
  /// offset_vmcoreinfo/size_vmcoreinfo @32/@40 (v3).
  var vmcoreinfoOffset: UInt64 = 0
  var vmcoreinfoSize: UInt64 = 0
  /// offset_note/size_note @48/@56 (v4).
  var noteOffset: UInt64 = 0
  var noteSize: UInt64 = 0
  /// max_mapnr_64 @96 (v6).
  var maxMapnr64: UInt64 = 0

  init() {}

  init(parsing source: ByteSource, at offset: UInt64, version: Int) throws(BinaryError) {
    let need = Self.sizeByVersion[min(max(version, 0), 6)]
    guard need > 0 else { return }
    let s = try source.view(at: offset, count: need, "a kdump_sub_header (header version \(version))")
    physBase = try s.u64(0, "phys_base")
    dumpLevel = try s.i32(8, "dump_level")
    if version >= 2 {
      split = try s.i32(12, "split") != 0
      startPFN = try s.u64(16, "start_pfn")
      endPFN = try s.u64(24, "end_pfn")
      splitRangeOffset = s.location(16)
    }
    if version >= 3 {
      vmcoreinfoOffset = try s.u64(32, "offset_vmcoreinfo")
      vmcoreinfoSize = try s.u64(40, "size_vmcoreinfo")
    }
    if version >= 4 {
      noteOffset = try s.u64(48, "offset_note")
      noteSize = try s.u64(56, "size_note")
    }
    if version >= 6 {
      // crash diskdump.c:769-783: the 64-bit fields replace the 32-bit ones.
      startPFN = try s.u64(80, "start_pfn_64")
      endPFN = try s.u64(88, "end_pfn_64")
      splitRangeOffset = s.location(80)
      maxMapnr64 = try s.u64(96, "max_mapnr_64")
    }
  }
}
