// One descriptor of the printk ring read the way the kernel's reader does (desc_read,
// desc_read_finalized_seq, get_data, copy_data in kernel/printk/printk_ringbuffer.c), except
// that a committed record is shown too (crash and makedumpfile show it: it is the last line,
// complete but still open to continuation). Anything that does not check out becomes a gap
// with its reason; text is never taken from a block that may belong to another record.

import KdigBinary

/// What one descriptor id yielded.
enum RecordOutcome {
  case record(LogRecord)
  case gap(LogGapKind, String, seq: UInt64?)
  /// The ring's initial placeholder descriptor (DESC0_ID), not a record.
  case bootstrap
}

struct PrintkRecordReader {
  let layout: PrintkLayout
  let header: PrintkRingHeader
  let pages: RingPages

  func read(id: UInt64) throws(LogError) -> RecordOutcome {
    let l = layout
    let h = header
    let index = id & (h.count - 1)
    // Both sums fit: PrintkRingHeader.read checked base + count × size.
    let descAddress = h.descs + index * UInt64(l.descSize)
    let desc: FieldBytes
    switch pages.bytes(at: descAddress, count: l.descSize) {
    case .failure(let f): return .gap(.missing, "descriptor page 0x\(hex(f.page)): \(f.reason)", seq: nil)
    case .success(let b): desc = FieldBytes(bytes: b, what: "prb_desc at 0x\(hex(descAddress))")
    }
    let stateVar = try desc.u64(l.stateVar + l.counter)
    let begin = try desc.u64(l.textBlkLpos + l.lposBegin)
    let next = try desc.u64(l.textBlkLpos + l.lposNext)
    let found = PrintkIDs.id(stateVar)
    if found != id {
      // desc_miss. One wrap behind: the head moved here but the writer had not yet claimed
      // the slot (desc_reserve between its two cmpxchgs). Ahead: the slot was recycled.
      if found == (id &- h.count) & PrintkIDs.idMask {
        return .gap(.incomplete, "being reserved: the descriptor still holds the previous wrap's id", seq: nil)
      }
      if PrintkIDs.isNewer(found, than: id) {
        return .gap(.overwritten, "descriptor reused by a newer record", seq: nil)
      }
      // No id in the reason: a run of such slots (a zeroed or foreign array) is one entry.
      return .gap(.garbled, "descriptor slot holds an unrelated id", seq: nil)
    }
    switch PrintkIDs.state(stateVar) {
    case .reserved:
      return .gap(.incomplete, "reserved: a writer was storing it when the dump was taken", seq: nil)
    case .reusable:
      if id == PrintkIDs.bootstrapID(countBits: h.countBits) && begin == 1 && next == 1 { return .bootstrap }
      return .gap(.overwritten, "descriptor reusable: its text was reclaimed for newer records", seq: nil)
    case .committed, .finalized:
      break
    }
    let infoAddress = h.infos + index * UInt64(l.infoSize)
    let info: FieldBytes
    switch pages.bytes(at: infoAddress, count: l.infoSize) {
    case .failure(let f): return .gap(.missing, "printk_info page 0x\(hex(f.page)): \(f.reason)", seq: nil)
    case .success(let b): info = FieldBytes(bytes: b, what: "printk_info at 0x\(hex(infoAddress))")
    }
    let seq = try info.u64(l.seq)
    // to_info(seq) and to_desc(id) must be the same slot (the kernel reads by seq).
    guard seq & (h.count - 1) == index else {
      return .gap(.garbled, "printk_info.seq \(seq) does not belong to descriptor slot \(index)", seq: nil)
    }
    let textLen = UInt64(try info.u16(l.textLen))
    let text: [UInt8]
    var textAddress: UInt64?
    switch TextBlock.locate(begin: begin, next: next, sizeBits: h.sizeBits) {
    case .failed:
      return .gap(.lost, "no text: the data ring had no room when it was stored (FAILED_LPOS)", seq: seq)
    case .illegal(let why):
      return .gap(.garbled, "text position: \(why)", seq: seq)
    case .empty:
      guard textLen == 0 else { return .gap(.garbled, "text_len \(textLen) but no data block", seq: seq) }
      text = []
    case .block(let idIndex, let dataIndex, let dataSize, let wraps):
      if let head = h.headLpos, let tail = h.tailLpos,
        !(lposInRange(begin, tail: tail, head: head) && lposInRange(next, tail: tail, head: head))
      {
        return .gap(.overwritten, "its text block is behind the data ring's tail: reclaimed", seq: seq)
      }
      // The block's ID word names its descriptor; the kernel writes it at begin and, for a
      // wrapping block, again at index 0 where the text is.
      // Indexes are below the data size, and data + size was checked: these sums fit.
      for at in wraps ? [idIndex, 0] : [idIndex] {
        switch pages.bytes(at: h.data + at, count: 8) {
        case .failure(let f): return .gap(.missing, "text page 0x\(hex(f.page)): \(f.reason)", seq: seq)
        case .success(let b):
          let owner = try FieldBytes(bytes: b, what: "data block ID").u64(0)
          guard owner == id else {
            return .gap(.overwritten, "its text block was reused by another record", seq: seq)
          }
        }
      }
      // copy_data(): the block must hold text_len bytes (it may hold more: alignment).
      guard textLen <= dataSize else {
        return .gap(.garbled, "text_len \(textLen) exceeds its \(dataSize)-byte data block", seq: seq)
      }
      switch pages.bytes(at: h.data + dataIndex, count: Int(textLen)) {
      case .failure(let f): return .gap(.missing, "text page 0x\(hex(f.page)): \(f.reason)", seq: seq)
      case .success(let b): text = b
      }
      textAddress = h.data + dataIndex
    }
    var r = try record(info, seq: seq, id: id, text: text, state: PrintkIDs.state(stateVar))
    r.textAddress = textAddress
    return .record(r)
  }

  private func record(_ info: FieldBytes, seq: UInt64, id: UInt64, text: [UInt8], state: DescriptorState)
    throws(LogError) -> LogRecord
  {
    let l = layout
    let callerID = try info.u32(l.callerID)
    var level: Int?
    var flagBits: Int?
    var names: [String] = []
    if let at = l.flagsLevelByte {
      let byte = Int(try info.u8(at))
      level = (byte >> l.levelShift) & ((1 << l.levelWidth) - 1)
      let bits = (byte >> l.flagsShift) & ((1 << l.flagsWidth) - 1)
      flagBits = bits
      if bits & Int(l.logNewline) != 0 { names.append("newline") }
      if bits & Int(l.logCont) != 0 { names.append("cont") }
      let other = bits & ~Int(l.logNewline | l.logCont)
      if other != 0 { names.append("0x" + String(other, radix: 16)) }
    }
    return LogRecord(
      seq: seq, tsNsec: try info.u64(l.tsNsec), level: level, facility: try l.facility.map { o throws(LogError) in Int(try info.u8(o)) },
      flagBits: flagBits, flags: names, callerID: callerID, caller: LogCaller(callerID: callerID), textBytes: text,
      state: state, subsystem: try info.string(l.devInfo + l.subsystem, l.subsystemLength),
      device: try info.string(l.devInfo + l.device, l.deviceLength), descriptorID: id)
  }
}
