// The kernel's own unwinder (arch/x86/kernel/unwind_orc.c unwind_next_frame, v6.x) over a
// dump: find the ORC entry of the IP (ip - 1 after a call, ip itself after an interrupt),
// compute the caller's SP from sp_reg/sp_offset (SP_INDIRECT dereferences first and adds the
// offset after, as call_on_irqstack's entries need), then by frame type read the return
// address (CALL) or a pt_regs / iret frame (REGS, REGS_PARTIAL), then the caller's BP.
// Without an ORC entry it guesses a frame-pointer frame (orc_fp_entry) and marks the rest
// unreliable. Every read must lie on a known stack; the walk is bounded and never loops.

import KdigBinary
import KdigKernel
import KdigX86

/// One step of the unwinder's state (struct unwind_state).
struct UnwindState {
  var ip: UInt64
  var sp: UInt64
  var bp: UInt64
  /// The pt_regs frame the last step read (address), and whether it was a full one.
  var regs: UInt64?
  var fullRegs: Bool
  var prevRegs: UInt64?
  /// Look up ip itself (the frame was interrupted) rather than ip - 1.
  var signal: Bool
  /// Registers known at the start (the CPU note): get_reg() reads these before any pt_regs.
  var initialRegisters: [String: UInt64]?
}

/// Why a walk ended.
public enum UnwindEnd: Sendable, Equatable {
  /// ORC_TYPE_END_OF_STACK / the_end: a kernel thread's first frame or the user-mode pt_regs.
  case endOfStack
  case userMode
  /// The walk stopped on bad data: the message says what.
  case error(String)
}

struct ORCUnwinder {
  let kernel: KernelImage
  let orc: ORCTable
  let layout: PtRegsLayout
  /// Where a read may go: every stack of the CPU and the task.
  let stacks: [KernelStack]
  /// Frames after this many are a loop or corruption (the kernel's stacks are 16 KiB).
  static let maxFrames = 256

  func onStack(_ address: UInt64, _ size: Int = 8) -> KernelStack? {
    stacks.first { $0.contains(address) && $0.contains(address &+ UInt64(size - 1)) }
  }

  func read(_ address: UInt64) throws -> UInt64 {
    guard onStack(address) != nil else {
      throw UnwindFailure("stack read at \(hex0x(address)) is outside every known stack")
    }
    return try kernel.kernelSpace.u64(at: address)
  }

  func readRegs(_ address: UInt64) throws -> PtRegs {
    guard onStack(address, layout.size) != nil else {
      throw UnwindFailure("pt_regs at \(hex0x(address)) is outside every known stack")
    }
    return try PtRegs(bytes: try kernel.kernelSpace.bytes(at: address, count: layout.size), layout: layout)
  }

  /// get_reg(): from the last full pt_regs, else the previous one, else the CPU's registers.
  func register(_ name: String, _ s: UnwindState) -> UInt64? {
    if let r = s.regs, s.fullRegs, let o = layout.offsets[name] { return try? read(r &+ UInt64(o)) }
    if let r = s.prevRegs, let o = layout.offsets[name] { return try? read(r &+ UInt64(o)) }
    if s.regs == nil { return s.initialRegisters?[name] }
    return nil
  }

  /// The ORC entry for runtime `ip`: the vmlinux's table for kernel-image text, a module's own
  /// table for module text (orc_find), nil elsewhere.
  func orcEntry(_ ip: UInt64) throws -> ORCEntry? {
    if KernelConstants.isKernelImage(linkIP(ip)) { return try orc.entry(forLinkIP: linkIP(ip)) }
    if let m = kernel.moduleORCTables().first(where: { ip >= $0.textStart && ip < $0.textEnd }) {
      return try m.entry(for: ip, kernel)
    }
    return nil
  }

  /// The link-time IP of a runtime kernel-text IP.
  func linkIP(_ ip: UInt64) -> UInt64 {
    let k = kernel.layout.kaslrOffset.value
    return KernelConstants.isKernelImage(ip &- k) ? ip &- k : ip
  }

  /// One unwind_next_frame(): the caller's state, or how the walk ends.
  /// `exception` is set when the step read a pt_regs frame (its address, full or partial).
  func next(_ s: UnwindState) -> (UnwindState?, UnwindEnd?, regsAt: UInt64?, reliable: Bool) {
    if let r = s.regs, let cs = try? read(r &+ UInt64(layout.offsets["cs"] ?? 136)), cs & 3 == 3 {
      return (nil, .userMode, nil, true)
    }
    var reliable = true
    var entry: ORCEntry
    do {
      if let e = try orcEntry(s.signal ? s.ip : s.ip &- 1) {
        entry = e
      } else {
        // orc_fp_entry: assume a frame-pointer frame; the rest is a guess.
        entry = ORCEntry(spOffset: 16, bpOffset: -16, spReg: .bp, bpReg: .prevSP, type: .call, signal: false)
        reliable = false
      }
    } catch {
      return (nil, .error("ORC lookup failed: \(error)"), nil, false)
    }
    switch entry.type {
    case .undefined:
      // No ORC data here (objtool could not describe the code, e.g. STACK_FRAME_NON_STANDARD):
      // the kernel stops; kdig looks for the caller's return address on the stack instead.
      if let found = scan(s) { return (found, nil, nil, false) }
      // A filtered dump may have left the stack page out: say so, not "nothing found".
      do { _ = try read(s.sp) } catch {
        return (nil, .error("no ORC data for \(kernel.symbolName(s.ip) ?? hex0x(s.ip)), and the stack at \(hex0x(s.sp)) is not in the dump: \(error)"), nil, false)
      }
      return (nil, .error("no ORC data for \(kernel.symbolName(s.ip) ?? hex0x(s.ip)) and no return address above it"), nil, false)
    case .endOfStack: return (nil, .endOfStack, nil, true)
    default: break
    }
    if entry.spReg == .undefined {
      // Before v6.4 an undefined SP register without `end` is the same "no data" case.
      if let found = scan(s) { return (found, nil, nil, false) }
      return (nil, .error("no ORC data for \(kernel.symbolName(s.ip) ?? hex0x(s.ip))"), nil, false)
    }
    do {
      var sp: UInt64
      var indirect = false
      switch entry.spReg {
      case .sp: sp = s.sp &+ UInt64(bitPattern: Int64(entry.spOffset))
      case .bp: sp = s.bp &+ UInt64(bitPattern: Int64(entry.spOffset))
      case .spIndirect:
        sp = s.sp
        indirect = true
      case .bpIndirect:
        sp = s.bp &+ UInt64(bitPattern: Int64(entry.spOffset))
        indirect = true
      case .r10, .r13, .di, .dx:
        guard let field = entry.spReg?.ptRegsField, let v = register(field, s) else {
          return (nil, .error("ORC needs \(entry.spReg.map { "\($0)" } ?? "?") but no pt_regs hold it"), nil, false)
        }
        sp = v
      default:
        return (nil, .error("unknown ORC SP base register at \(kernel.symbolName(s.ip) ?? hex0x(s.ip))"), nil, false)
      }
      if indirect {
        sp = try read(sp)
        if entry.spReg == .spIndirect { sp &+= UInt64(bitPattern: Int64(entry.spOffset)) }
      }
      var n = s
      // The CPU's registers stand for the kernel's starting pt_regs only until the first
      // step: unwind_next_frame then sets state->regs to NULL or to a frame on the stack, so
      // get_reg() no longer sees them (a later "BP undefined" keeps the BP it has).
      n.initialRegisters = nil
      var regsAt: UInt64?
      switch entry.type {
      case .call:
        n.ip = try read(sp &- 8)
        n.sp = sp
        n.regs = nil
        n.prevRegs = nil
        n.signal = entry.signal
      case .regs:
        let r = try readRegs(sp)
        (n.ip, n.sp) = (r.ip, r.sp)
        n.regs = sp
        n.prevRegs = nil
        n.fullRegs = true
        n.signal = true
        regsAt = sp
      case .regsPartial:
        let ipOffset = UInt64(layout.offsets["ip"] ?? 128)
        let base = sp &- ipOffset
        n.ip = try read(sp)
        n.sp = try read(base &+ UInt64(layout.offsets["sp"] ?? 152))
        n.prevRegs = s.fullRegs ? s.regs : s.prevRegs
        n.regs = base
        n.fullRegs = false
        n.signal = true
        regsAt = base
      default: break
      }
      switch entry.bpReg {
      case .undefined:
        if let v = register("bp", n) { n.bp = v }
      case .prevSP: n.bp = try read(sp &+ UInt64(bitPattern: Int64(entry.bpOffset)))
      case .bp: n.bp = try read(s.bp &+ UInt64(bitPattern: Int64(entry.bpOffset)))
      default: return (nil, .error("unknown ORC BP base register at \(kernel.symbolName(s.ip) ?? hex0x(s.ip))"), nil, false)
      }
      // The kernel's loop guard: on the same stack, SP must grow.
      if let a = onStack(s.sp), a.contains(n.sp), n.sp <= s.sp {
        return (nil, .error("stack going in the wrong direction at \(kernel.symbolName(s.ip) ?? hex0x(s.ip))"), nil, false)
      }
      return (n, nil, regsAt, reliable)
    } catch {
      return (nil, .error("\(error)"), nil, false)
    }
  }
}

extension ORCUnwinder {
  /// Words scanned above SP for a return address when ORC has no data (a 16 KiB stack is 2048).
  static let scanLimit = 2048

  /// The first word above `s.sp` that is a return address into kernel text: it follows a
  /// call instruction and ORC knows the code there. The frames after it are a guess ("?").
  func scan(_ s: UnwindState) -> UnwindState? {
    guard let stack = onStack(s.sp) else { return nil }
    var slot = s.sp
    for _ in 0..<Self.scanLimit where slot &+ 8 <= stack.top.value {
      defer { slot &+= 8 }
      guard let v = try? kernel.kernelSpace.u64(at: slot), v >= 0xffff_8000_0000_0000, v != s.ip,
        followsCall(v), let e = try? orcEntry(v &- 1), e.type == .call || e.type == .regs
      else { continue }
      var n = s
      (n.ip, n.sp, n.regs, n.prevRegs, n.signal) = (v, slot &+ 8, nil, nil, false)
      return n
    }
    return nil
  }

  /// The bytes before `address` end with a call: E8 rel32, or FF /2 (register or memory forms).
  func followsCall(_ address: UInt64) -> Bool {
    guard let b = try? kernel.kernelSpace.bytes(at: address &- 7, count: 7) else { return false }
    if b[2] == 0xe8 { return true }
    for at in [5, 4, 1, 0] where b[at] == 0xff && (b[at + 1] >> 3) & 7 == 2 { return true }
    return false
  }
}

struct UnwindFailure: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}
