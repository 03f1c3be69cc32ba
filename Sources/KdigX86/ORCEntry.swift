// ORC unwind entries (arch/x86/include/asm/orc_types.h; objtool writes one per code range in
// .orc_unwind, parallel to the sorted PC-relative addresses of .orc_unwind_ip). An entry says
// how to find the caller's stack pointer (sp_reg + sp_offset), the caller's frame pointer
// (bp_reg + bp_offset) and what kind of frame this is. Two encodings exist:
//   before v6.4: sp_reg:4 bp_reg:4 type:2 end:1, types CALL 0, REGS 1, REGS_PARTIAL 2
//   v6.4 on:     sp_reg:4 bp_reg:4 type:3 signal:1, types UNDEFINED 0, END_OF_STACK 1,
//                CALL 2, REGS 3, REGS_PARTIAL 4
// The bit positions come from the kernel's DWARF (`ORCFormat`), the numbering from which
// flag member the kernel has (`end` or `signal`).

import KdigBinary

/// Registers ORC can name (ORC_REG_*).
public enum ORCRegister: Int, Sendable, Hashable {
  case undefined = 0, prevSP = 1, dx = 2, di = 3, bp = 4, sp = 5, r10 = 6, r13 = 7, bpIndirect = 8, spIndirect = 9

  /// The pt_regs field holding this register, for the registers a REGS frame provides.
  public var ptRegsField: String? {
    switch self {
    case .dx: "dx"
    case .di: "di"
    case .r10: "r10"
    case .r13: "r13"
    case .bp: "bp"
    case .sp: "sp"
    default: nil
    }
  }
}

/// The kind of frame an entry describes.
public enum ORCFrameType: String, Sendable, Hashable {
  /// No ORC data: the unwinder must stop (v6.4+ ORC_TYPE_UNDEFINED).
  case undefined
  /// The end of the stack (user-mode entry or the initial task frame).
  case endOfStack
  /// A normal call frame: the return address is just below the caller's SP.
  case call
  /// A full pt_regs frame at SP (interrupt/exception/syscall entry).
  case regs
  /// Only the hardware iret frame (ip, cs, flags, sp, ss) at SP.
  case regsPartial
}

/// Where the fields of `struct orc_entry` are (bit offsets), and which encoding it is.
public struct ORCFormat: Sendable, Hashable {
  public var spRegBit: Int
  public var bpRegBit: Int
  public var typeBit: Int
  public var typeWidth: Int
  /// The v6.4+ `signal` flag, or the older `end` flag.
  public var flagBit: Int
  public var hasSignal: Bool
  /// sizeof(struct orc_entry) = 6.
  public static let size = 6

  public init(spRegBit: Int, bpRegBit: Int, typeBit: Int, typeWidth: Int, flagBit: Int, hasSignal: Bool) {
    (self.spRegBit, self.bpRegBit, self.typeBit, self.typeWidth, self.flagBit, self.hasSignal) =
      (spRegBit, bpRegBit, typeBit, typeWidth, flagBit, hasSignal)
  }

  /// v6.4+ as orc_types.h lays it out on little-endian: bits 32–35 sp_reg, 36–39 bp_reg, 40–42 type, 43 signal.
  public static let v6_4 = ORCFormat(spRegBit: 32, bpRegBit: 36, typeBit: 40, typeWidth: 3, flagBit: 43, hasSignal: true)
  /// Before v6.4: bits 40–41 type, 42 end.
  public static let beforeV6_4 = ORCFormat(spRegBit: 32, bpRegBit: 36, typeBit: 40, typeWidth: 2, flagBit: 42, hasSignal: false)
}

/// One decoded ORC entry.
public struct ORCEntry: Sendable, Hashable {
  public var spOffset: Int16
  public var bpOffset: Int16
  public var spReg: ORCRegister?
  public var bpReg: ORCRegister?
  public var type: ORCFrameType
  /// v6.4+: the frame was interrupted (a signal/exception frame: look up ip, not ip − 1).
  public var signal: Bool

  public init(spOffset: Int16, bpOffset: Int16, spReg: ORCRegister?, bpReg: ORCRegister?, type: ORCFrameType, signal: Bool) {
    (self.spOffset, self.bpOffset, self.spReg, self.bpReg, self.type, self.signal) = (spOffset, bpOffset, spReg, bpReg, type, signal)
  }

  /// Decodes the 6 bytes of an entry.
  public init(bytes: [UInt8], format: ORCFormat) throws(BinaryError) {
    let v = try exactView(bytes, count: ORCFormat.size, "orc_entry")
    spOffset = Int16(bitPattern: try v.u16(0, "orc_entry.sp_offset"))
    bpOffset = Int16(bitPattern: try v.u16(2, "orc_entry.bp_offset"))
    let bits = UInt64(try v.u16(4, "orc_entry bitfields")) << 32
    func field(_ at: Int, _ width: Int) -> Int { Int(bits[bits: at..<(at + width)]) }
    spReg = ORCRegister(rawValue: field(format.spRegBit, 4))
    bpReg = ORCRegister(rawValue: field(format.bpRegBit, 4))
    let type = field(format.typeBit, format.typeWidth)
    let flag = field(format.flagBit, 1) == 1
    if format.hasSignal {
      signal = flag
      switch type {
      case 1: self.type = .endOfStack
      case 2: self.type = .call
      case 3: self.type = .regs
      case 4: self.type = .regsPartial
      default: self.type = .undefined
      }
    } else {
      // Before v6.4 the `end` flag marked the end of the stack; REGS frames were signals.
      switch type {
      case 0: self.type = flag ? .endOfStack : .call
      case 1: self.type = flag ? .endOfStack : .regs
      case 2: self.type = flag ? .endOfStack : .regsPartial
      default: self.type = .undefined
      }
      signal = self.type == .regs || self.type == .regsPartial
    }
  }
}
