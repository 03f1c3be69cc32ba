// Where the printk ring buffer's fields are (kernel/printk/printk_ringbuffer.h, v5.10+). The
// kernel publishes every offset the reader needs in VMCOREINFO (log_buf_vmcoreinfo_setup in
// kernel/printk/printk.c), which is how makedumpfile --dump-dmesg reads the log without a
// vmlinux; kdig does the same. A dump without VMCOREINFO falls back to the vmlinux's DWARF,
// as crash does. Every offset comes from the dump, so each is checked against its struct.

import KdigBinary
import KdigKernel

/// Byte offsets and sizes of the printk ring buffer structures.
public struct PrintkLayout: Sendable, Equatable {
  /// Address of the `prb` variable (a `struct printk_ringbuffer *`).
  public var prbSymbol: UInt64
  /// Where the layout came from ("VMCOREINFO" or the vmlinux's DWARF), for reports.
  public var source: String

  // struct printk_ringbuffer
  public var ringbufferSize: Int
  public var descRing: Int
  public var textDataRing: Int
  public var fail: Int?
  // struct prb_desc_ring
  public var countBits: Int
  public var descs: Int
  public var infos: Int
  public var headID: Int
  public var tailID: Int
  // struct prb_desc
  public var descSize: Int
  public var stateVar: Int
  public var textBlkLpos: Int
  // struct prb_data_blk_lpos
  public var lposBegin: Int
  public var lposNext: Int
  // struct printk_info
  public var infoSize: Int
  public var seq: Int
  public var tsNsec: Int
  public var textLen: Int
  public var callerID: Int
  public var devInfo: Int
  /// `facility` (u8); nil when the layout does not say where it is.
  public var facility: Int?
  /// The byte holding the `flags:5` and `level:3` bitfields, and their bit positions.
  public var flagsLevelByte: Int?
  public var flagsShift = 0
  public var flagsWidth = 5
  public var levelShift = 5
  public var levelWidth = 3
  // struct dev_printk_info
  public var subsystem: Int
  public var subsystemLength: Int
  public var device: Int
  public var deviceLength: Int
  // struct prb_data_ring
  public var sizeBits: Int
  public var data: Int
  public var headLpos: Int?
  public var tailLpos: Int?
  // atomic_long_t
  public var counter: Int
  /// enum printk_info_flags (kernel/printk/printk_ringbuffer.h).
  public var logNewline: UInt8 = 2
  public var logCont: UInt8 = 8
}

/// Why the log cannot be read at all (the ring's description is missing or impossible).
public struct LogError: KdigError {
  public var message: String
  public var category: ErrorCategory
  public init(_ message: String, category: ErrorCategory = .malformedInput) {
    self.message = message
    self.category = category
  }
  public var description: String { message }
}

extension PrintkLayout {
  /// The layout for `kernel`: VMCOREINFO first (no vmlinux needed), else the kernel's types
  /// (the vmlinux's DWARF, or whatever type source the kernel image has).
  public static func load(kernel: KernelImage) throws -> PrintkLayout {
    var problem = LogError("the dump has no VMCOREINFO", category: .debugInfo)
    if let info = kernel.vmcoreinfo {
      switch fromVMCoreInfo(info) {
      case .success(let layout): return layout
      case .failure(let p):
        // Since v5.10 the kernel always writes SYMBOL(prb): without it there is no ring.
        if info.symbol("prb") == nil { throw LogError("cannot read the kernel log: \(p.message)", category: p.category) }
        problem = p
      }
    }
    do {
      return try fromTypes(kernel: kernel)
    } catch {
      throw LogError(
        "cannot read the kernel log: \(problem.message), and the kernel's types do not give the layout either: \(error)",
        category: problem.category)
    }
  }

  /// The layout VMCOREINFO describes, or what it lacks.
  public static func fromVMCoreInfo(_ info: VMCoreInfo) -> Result<PrintkLayout, LogError> {
    guard let prb = info.symbol("prb") else {
      let old = info.symbol("log_buf") != nil ? " (it has SYMBOL(log_buf): the pre-5.10 log format, which kdig does not read)" : ""
      return .failure(LogError("VMCOREINFO has no SYMBOL(prb): no printk ring buffer\(old)", category: .unsupported))
    }
    var missing: [String] = []
    func need(_ kind: String, _ name: String) -> Int {
      let v: Int64? =
        switch kind {
        case "SIZE": info.size(name)
        case "LENGTH": info.length(name)
        default: info.offset(name)
        }
      guard let v, v >= 0, v <= Int64(Self.structLimit) else {
        missing.append("\(kind)(\(name))")
        return 0
      }
      return Int(v)
    }
    func optional(_ name: String) -> Int? {
      info.offset(name).flatMap { $0 >= 0 && $0 <= Int64(Self.structLimit) ? Int($0) : nil }
    }
    let textLen = need("OFFSET", "printk_info.text_len")
    let callerID = need("OFFSET", "printk_info.caller_id")
    // VMCOREINFO omits facility/flags/level. Since 5.10 they sit between text_len (u16) and
    // caller_id (u32): `u8 facility; u8 flags:5; u8 level:3;`. Use that only when the gap
    // is exactly those two bytes.
    let known = callerID == textLen + 4
    let layout = PrintkLayout(
      prbSymbol: prb, source: "VMCOREINFO",
      ringbufferSize: need("SIZE", "printk_ringbuffer"), descRing: need("OFFSET", "printk_ringbuffer.desc_ring"),
      textDataRing: need("OFFSET", "printk_ringbuffer.text_data_ring"), fail: optional("printk_ringbuffer.fail"),
      countBits: need("OFFSET", "prb_desc_ring.count_bits"), descs: need("OFFSET", "prb_desc_ring.descs"),
      infos: need("OFFSET", "prb_desc_ring.infos"), headID: need("OFFSET", "prb_desc_ring.head_id"),
      tailID: need("OFFSET", "prb_desc_ring.tail_id"), descSize: need("SIZE", "prb_desc"),
      stateVar: need("OFFSET", "prb_desc.state_var"), textBlkLpos: need("OFFSET", "prb_desc.text_blk_lpos"),
      lposBegin: need("OFFSET", "prb_data_blk_lpos.begin"), lposNext: need("OFFSET", "prb_data_blk_lpos.next"),
      infoSize: need("SIZE", "printk_info"), seq: need("OFFSET", "printk_info.seq"),
      tsNsec: need("OFFSET", "printk_info.ts_nsec"), textLen: textLen, callerID: callerID,
      devInfo: need("OFFSET", "printk_info.dev_info"), facility: known ? textLen + 2 : nil,
      flagsLevelByte: known ? textLen + 3 : nil,
      subsystem: need("OFFSET", "dev_printk_info.subsystem"), subsystemLength: need("LENGTH", "printk_info_subsystem"),
      device: need("OFFSET", "dev_printk_info.device"), deviceLength: need("LENGTH", "printk_info_device"),
      sizeBits: need("OFFSET", "prb_data_ring.size_bits"), data: need("OFFSET", "prb_data_ring.data"),
      headLpos: optional("prb_data_ring.head_lpos"), tailLpos: optional("prb_data_ring.tail_lpos"),
      counter: need("OFFSET", "atomic_long_t.counter"))
    if !missing.isEmpty {
      return .failure(LogError("VMCOREINFO lacks \(missing.joined(separator: ", "))", category: .unsupported))
    }
    if let problem = layout.inconsistency() { return .failure(LogError("VMCOREINFO: \(problem)")) }
    return .success(layout)
  }

  /// The layout from the vmlinux's DWARF and symbol table (dumps without VMCOREINFO).
  public static func fromTypes(kernel: KernelImage) throws -> PrintkLayout {
    let t = try kernel.types()
    let prb = try kernel.lookup("prb").address
    let level = try t.member("printk_info.level")
    let flags = try t.member("printk_info.flags")
    var layout = PrintkLayout(
      prbSymbol: prb, source: "types from \(t.source)",
      ringbufferSize: try t.sizeof("struct printk_ringbuffer"), descRing: try t.offsetof("printk_ringbuffer.desc_ring"),
      textDataRing: try t.offsetof("printk_ringbuffer.text_data_ring"), fail: try? t.offsetof("printk_ringbuffer.fail"),
      countBits: try t.offsetof("prb_desc_ring.count_bits"), descs: try t.offsetof("prb_desc_ring.descs"),
      infos: try t.offsetof("prb_desc_ring.infos"), headID: try t.offsetof("prb_desc_ring.head_id"),
      tailID: try t.offsetof("prb_desc_ring.tail_id"), descSize: try t.sizeof("struct prb_desc"),
      stateVar: try t.offsetof("prb_desc.state_var"), textBlkLpos: try t.offsetof("prb_desc.text_blk_lpos"),
      lposBegin: try t.offsetof("prb_data_blk_lpos.begin"), lposNext: try t.offsetof("prb_data_blk_lpos.next"),
      infoSize: try t.sizeof("struct printk_info"), seq: try t.offsetof("printk_info.seq"),
      tsNsec: try t.offsetof("printk_info.ts_nsec"), textLen: try t.offsetof("printk_info.text_len"),
      callerID: try t.offsetof("printk_info.caller_id"), devInfo: try t.offsetof("printk_info.dev_info"),
      facility: try t.offsetof("printk_info.facility"), flagsLevelByte: level.offset,
      subsystem: try t.offsetof("dev_printk_info.subsystem"),
      subsystemLength: try t.arrayLength(ofMember: "dev_printk_info.subsystem"),
      device: try t.offsetof("dev_printk_info.device"),
      deviceLength: try t.arrayLength(ofMember: "dev_printk_info.device"),
      sizeBits: try t.offsetof("prb_data_ring.size_bits"), data: try t.offsetof("prb_data_ring.data"),
      headLpos: try? t.offsetof("prb_data_ring.head_lpos"), tailLpos: try? t.offsetof("prb_data_ring.tail_lpos"),
      counter: try t.offsetof("atomic_long_t.counter"))
    // Both bitfields must share one byte for the single-byte read below.
    guard flags.offset == level.offset, let lw = level.bitSize, let fw = flags.bitSize else {
      throw LogError("printk_info.flags and .level are not bitfields of one byte in \(t.source)")
    }
    layout.levelShift = level.bitOffset & 7
    layout.levelWidth = lw
    layout.flagsShift = flags.bitOffset & 7
    layout.flagsWidth = fw
    if let v = try? t.enumValue("LOG_CONT"), (0...255).contains(v) { layout.logCont = UInt8(v) }
    if let v = try? t.enumValue("LOG_NEWLINE"), (0...255).contains(v) { layout.logNewline = UInt8(v) }
    if let problem = layout.inconsistency() { throw LogError("\(t.source): \(problem)") }
    return layout
  }

  /// No kernel structure here is anywhere near this big; larger values are garbage.
  static let structLimit = 4096

  /// The first field that does not fit in its struct, or nil when the layout is sound.
  func inconsistency() -> String? {
    let checks: [(String, Int, Int, Int)] = [
      // (what, offset, width, container size)
      ("printk_ringbuffer.desc_ring.count_bits", descRing + countBits, 4, ringbufferSize),
      ("printk_ringbuffer.desc_ring.descs", descRing + descs, 8, ringbufferSize),
      ("printk_ringbuffer.desc_ring.infos", descRing + infos, 8, ringbufferSize),
      ("printk_ringbuffer.desc_ring.head_id", descRing + headID + counter, 8, ringbufferSize),
      ("printk_ringbuffer.desc_ring.tail_id", descRing + tailID + counter, 8, ringbufferSize),
      ("printk_ringbuffer.text_data_ring.size_bits", textDataRing + sizeBits, 4, ringbufferSize),
      ("printk_ringbuffer.text_data_ring.data", textDataRing + data, 8, ringbufferSize),
      ("printk_ringbuffer.text_data_ring.head_lpos", textDataRing + (headLpos ?? 0) + counter, 8, ringbufferSize),
      ("printk_ringbuffer.text_data_ring.tail_lpos", textDataRing + (tailLpos ?? 0) + counter, 8, ringbufferSize),
      ("printk_ringbuffer.fail", (fail ?? 0) + counter, 8, ringbufferSize),
      ("prb_desc.state_var", stateVar + counter, 8, descSize),
      ("prb_desc.text_blk_lpos.begin", textBlkLpos + lposBegin, 8, descSize),
      ("prb_desc.text_blk_lpos.next", textBlkLpos + lposNext, 8, descSize),
      ("printk_info.seq", seq, 8, infoSize),
      ("printk_info.ts_nsec", tsNsec, 8, infoSize),
      ("printk_info.text_len", textLen, 2, infoSize),
      ("printk_info.caller_id", callerID, 4, infoSize),
      ("printk_info.facility", facility ?? 0, 1, infoSize),
      ("printk_info.flags/level", flagsLevelByte ?? 0, 1, infoSize),
      ("printk_info.dev_info.subsystem", devInfo + subsystem, subsystemLength, infoSize),
      ("printk_info.dev_info.device", devInfo + device, deviceLength, infoSize),
    ]
    for (what, offset, width, size) in checks where size <= 0 || size > Self.structLimit || offset + width > size {
      return "\(what) (offset \(offset), \(width) bytes) does not fit in its structure of \(size) bytes"
    }
    let bits = [(flagsShift, flagsWidth), (levelShift, levelWidth)]
    for (shift, width) in bits where shift < 0 || width < 1 || shift + width > 8 {
      return "printk_info flags/level bitfield at bit \(shift), width \(width), does not fit in a byte"
    }
    return nil
  }
}
