// Pure decoding of the printk ring buffer's descriptor words and data-block positions, as
// kernel/printk/printk_ringbuffer.{c,h} defines them (x86-64: unsigned long is 64 bits).
// No memory access here, so every rule can be tested on plain numbers.

/// The state in the top two bits of a descriptor's `state_var` (enum desc_state).
public enum DescriptorState: String, Sendable, Encodable {
  /// A writer holds the descriptor; its data is not consistent.
  case reserved
  /// Written; the writer could still reopen it to append (prb_reserve_in_last).
  case committed
  /// Written and closed.
  case finalized
  /// Free for reuse; its text may already be overwritten.
  case reusable
}

/// Descriptor ids and states (DESC_SV_BITS = 64, DESC_FLAGS_SHIFT = 62).
public enum PrintkIDs {
  public static let stateShift: UInt64 = 62
  /// DESC_ID_MASK: ids are 62 bits and wrap.
  public static let idMask: UInt64 = (1 << 62) - 1

  public static func id(_ stateVar: UInt64) -> UInt64 { stateVar & idMask }

  public static func state(_ stateVar: UInt64) -> DescriptorState {
    switch stateVar >> stateShift {
    case 0: return .reserved
    case 1: return .committed
    case 2: return .finalized
    default: return .reusable
    }
  }

  /// DESC0_ID(count_bits): the id the ring starts with, whose descriptor (the last one,
  /// reusable, no data) is a placeholder rather than a record (printk_ringbuffer.h,
  /// "Descriptor Bootstrap").
  public static func bootstrapID(countBits: Int) -> UInt64 {
    // DESC0_ID is DESC_ID(-(_DESCS_COUNT(bits) + 1)) and _DESCS_COUNT is `1U << bits`: the
    // negation happens in 32-bit unsigned int (0xffffefff for 12 bits), then widens.
    let count = UInt32(1) << UInt32(countBits)
    return UInt64(0 &- (count &+ 1)) & idMask
  }

  /// How `found` (the id a descriptor slot holds) relates to `expected` (the id the walk is
  /// at): ids are compared modulo 2^62, as the kernel does.
  public static func isNewer(_ found: UInt64, than expected: UInt64) -> Bool {
    let delta = (found &- expected) & idMask
    return delta != 0 && delta < (1 << 61)
  }
}

/// Where a record's text lives in the data ring, checked as get_data() checks it.
public enum TextBlock: Equatable, Sendable {
  /// NO_LPOS (0x3) twice: a record with no text at all.
  case empty
  /// FAILED_LPOS (0x1) twice: the text could not be stored (the data ring was full).
  case failed
  /// A data block: the ID word at `idIndex` (and, for a wrapping block, again at 0), the
  /// text after the ID word at `dataIndex`, `dataSize` bytes of block after the ID.
  case block(idIndex: UInt64, dataIndex: UInt64, dataSize: UInt64, wraps: Bool)
  /// Positions no writer produces.
  case illegal(String)

  /// Locates the block `begin..<next` in a data ring of 2^sizeBits bytes (sizeBits ≤ 62).
  public static func locate(begin: UInt64, next: UInt64, sizeBits: Int) -> TextBlock {
    // LPOS_DATALESS: bit 0 marks the two special values.
    if begin & 1 == 1 && next & 1 == 1 {
      if begin == 3 && next == 3 { return .empty }
      if begin == 1 && next == 1 { return .failed }
      return .illegal("data-less positions 0x\(String(begin, radix: 16)), 0x\(String(next, radix: 16))")
    }
    let size = UInt64(1) << UInt64(sizeBits)
    let mask = size &- 1
    let shift = UInt64(sizeBits)
    var idIndex = begin & mask
    var dataSize: UInt64
    var wraps = false
    if begin >> shift == next >> shift && begin < next {
      dataSize = next &- begin  // safe, can't overflow: begin < next
    } else if (begin &+ size) >> shift == next >> shift {
      // A wrapping block: its ID stays at begin, the whole block is repeated at index 0.
      // (begin + size wraps in the kernel's unsigned long too.)
      wraps = true
      dataSize = next & mask
      idIndex = begin & mask
    } else {
      return .illegal("block 0x\(String(begin, radix: 16))..0x\(String(next, radix: 16)) spans more than one wrap")
    }
    guard begin & 7 == 0, next & 7 == 0 else {
      return .illegal("block 0x\(String(begin, radix: 16))..0x\(String(next, radix: 16)) is not aligned to 8")
    }
    guard dataSize >= 8 else {
      return .illegal("block of \(dataSize) bytes has no room for its ID")
    }
    dataSize -= 8
    let dataIndex: UInt64 = wraps ? 8 : (idIndex &+ 8) & mask
    return .block(idIndex: idIndex, dataIndex: dataIndex, dataSize: dataSize, wraps: wraps)
  }
}

/// True when `lpos` lies in `tail...head` of a ring whose positions wrap at 2^64.
func lposInRange(_ lpos: UInt64, tail: UInt64, head: UInt64) -> Bool {
  (lpos &- tail) <= (head &- tail)
}
