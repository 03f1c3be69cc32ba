// `kdig bt`: a task's or a CPU's call chain in crash's layout, unwound with the kernel's ORC
// tables across every stack (task, IRQ, exception, entry). Where the walk starts:
//   a CPU in the dump: the registers of its note (NT_PRSTATUS as crash_save_cpu stored them,
//     or the QEMU CPU state): ip, sp, bp, and every register for ORC's register rules;
//   any other task: its switch frame (thread.sp → struct inactive_task_frame; __unwind_start:
//     sp = thread.sp + sizeof(frame), bp = frame->bp, ip = frame->ret_addr).
// At each pt_regs frame the exception block is kept; at each change of stack a separator.

import KdigBinary
import KdigKernel
import KdigX86

/// One frame.
public struct BacktraceFrame: Sendable, Encodable {
  public var index: Int
  /// Where the frame's return address sits on the stack (crash's bracketed address).
  public var stackAddress: Hex64
  public var ip: Hex64
  /// `name+0xoff`; nil outside known text.
  public var symbol: String?
  /// The function name alone (crash prints it).
  public var function: String
  /// The stack the frame's SP is on ("task stack", "IRQ stack", "NMI exception stack"…).
  public var stack: String?
  /// The pt_regs frame the unwinder read after this frame (an interrupt/exception/syscall entry).
  public var exception: PtRegsFrame?
  /// False when the unwinder had to guess this frame (no ORC data: a scanned return address).
  public var reliable: Bool
  /// `bt -f`: the stack words from this frame's slot up to the next frame's.
  public var words: [Hex64]?
}

/// A task's backtrace.
public struct Backtrace: Sendable, Encodable {
  public var pid: Int32
  public var task: Hex64
  public var cpu: Int?
  public var command: String
  /// Where the registers came from: "NT_PRSTATUS", "QEMU CPU state note", "switch frame".
  public var start: String
  public var frames: [BacktraceFrame]
  /// How the walk ended: "end of stack", "user mode", or the error that stopped it.
  public var end: String
  public var complete: Bool
  /// What the dump lacked and what was used instead (a task_struct page a filtered dump
  /// dropped: the PID from init_pid_ns, the stack base from thread.sp).
  public var notes: [String] = []
}

/// Where a walk starts.
public struct UnwindStart: Sendable {
  public var ip: UInt64
  public var sp: UInt64
  public var bp: UInt64
  /// pt_regs-named registers (ax, bx, …) when the start is a full register set.
  public var registers: [String: UInt64]?
  public var signal: Bool
  public var source: String
  /// The first frame's bracketed address, as crash shows it: the SP of a register set, or
  /// thread.sp (the start of the switch frame) for a sleeping task.
  public var firstSlot: UInt64

  public init(
    ip: UInt64, sp: UInt64, bp: UInt64, registers: [String: UInt64]?, signal: Bool, source: String, firstSlot: UInt64
  ) {
    (self.ip, self.sp, self.bp, self.registers, self.signal, self.source, self.firstSlot) =
      (ip, sp, bp, registers, signal, source, firstSlot)
  }
}

extension KernelImage {
  /// The start of `cpu`'s active task from the dump's register note.
  public func unwindStart(cpu: Int) -> UnwindStart? {
    guard let r = noteRegisters(cpu: cpu) else { return nil }
    // pt_regs names for the note's registers (rax → ax, r8 → r8, rflags → flags, orig_rax → orig_ax).
    var named: [String: UInt64] = [:]
    for (name, value) in r.general {
      var n = name
      if n.hasPrefix("r"), !n.dropFirst().allSatisfy(\.isNumber) { n = String(n.dropFirst()) }
      if n == "flags" || name == "rflags" { n = "flags" }
      if name == "orig_rax" { n = "orig_ax" }
      named[n] = value
    }
    named["ip"] = r.rip
    named["sp"] = r.rsp
    return UnwindStart(ip: r.rip, sp: r.rsp, bp: r.rbp, registers: named, signal: true, source: r.source, firstSlot: r.rsp)
  }

  /// The start of a task that is not running: its saved switch frame.
  public func unwindStart(sleepingTask task: UInt64) throws -> UnwindStart {
    let t = try types()
    let threadSP = try kernelSpace.u64(at: task &+ UInt64(try t.offsetof("task_struct.thread.sp")))
    let frameSize = try t.sizeof("struct inactive_task_frame")
    let bp = try kernelSpace.u64(at: threadSP &+ UInt64(try t.offsetof("inactive_task_frame.bp")))
    let ip = try kernelSpace.u64(at: threadSP &+ UInt64(try t.offsetof("inactive_task_frame.ret_addr")))
    let fork = (try? lookup("ret_from_fork_asm").address) ?? (try? lookup("ret_from_fork").address)
    return UnwindStart(
      ip: ip, sp: threadSP &+ UInt64(frameSize), bp: bp, registers: nil, signal: ip == fork, source: "switch frame (thread.sp)",
      firstSlot: threadSP)
  }

  /// Unwinds from `start` with `stacks` readable.
  public func backtrace(
    start: UnwindStart, stacks: [KernelStack], pid: Int32, task: UInt64, cpu: Int?, command: String
  ) throws -> Backtrace {
    let unwinder = ORCUnwinder(kernel: self, orc: try orcTable(), layout: try ptRegsLayout(), stacks: stacks)
    var state = UnwindState(
      ip: start.ip, sp: start.sp, bp: start.bp, regs: nil, fullRegs: false, prevRegs: nil, signal: start.signal,
      initialRegisters: start.registers)
    var frames: [BacktraceFrame] = []
    var reliable = true
    var end = "end of stack"
    var complete = true
    let map = try? stackMap()
    // The first frame's slot: the SP itself for a register start, the ret_addr slot otherwise.
    var slot = start.firstSlot
    for index in 0..<ORCUnwinder.maxFrames {
      frames.append(frame(index, slot, state, unwinder, reliable))
      let (next, stop, regsAt, ok) = unwinder.next(state)
      reliable = ok
      if let regsAt, let map {
        frames[frames.count - 1].exception = try? ptRegsFrame(at: regsAt, stacks: map)
      }
      guard let next else {
        switch stop {
        case .endOfStack?, nil: end = "end of stack"
        case .userMode?: end = "user mode"
        case .error(let message)?:
          end = message
          complete = false
        }
        break
      }
      // A pt_regs frame that leads to user mode ends the kernel walk after its block.
      if let r = frames.last?.exception, r.mode == "user" {
        end = "user mode"
        break
      }
      // crash's bracketed address: where the return address was read; after a pt_regs frame,
      // the interrupted RSP itself.
      slot = regsAt != nil ? next.sp : next.sp &- 8
      state = next
      if index == ORCUnwinder.maxFrames - 1 {
        end = "stopped after \(ORCUnwinder.maxFrames) frames (a loop or a corrupt stack)"
        complete = false
      }
    }
    return Backtrace(
      pid: pid, task: Hex64(task), cpu: cpu, command: command, start: start.source, frames: frames, end: end,
      complete: complete)
  }

  /// `bt -f`: fills each frame's stack words (from its slot to the next frame's, at most 512).
  public func addFrameWords(_ b: inout Backtrace) {
    for i in b.frames.indices {
      let from = b.frames[i].stackAddress.value
      let to = i + 1 < b.frames.count ? b.frames[i + 1].stackAddress.value : from &+ 8
      guard to > from, to - from <= 512 * 8, let bytes = try? kernelSpace.bytes(at: from, count: Int(to - from)) else { continue }
      b.frames[i].words = stride(from: 0, to: bytes.count - 7, by: 8).map { o in
        Hex64((0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) })
      }
    }
  }

  func frame(_ index: Int, _ slot: UInt64, _ s: UnwindState, _ u: ORCUnwinder, _ reliable: Bool) -> BacktraceFrame {
    // A return address may be the first byte after a function ending in a noreturn call:
    // name it by ip - 1, as the kernel's %pB (sprint_backtrace) and crash do.
    let sym = symbolize(s.signal ? s.ip : s.ip &- 1).map { ($0.symbol, s.ip &- $0.symbol.value &- (KernelConstants.isKernelImage($0.symbol.value) ? layout.kaslrOffset.value : 0)) }
    return BacktraceFrame(
      index: index, stackAddress: Hex64(slot), ip: Hex64(s.ip),
      symbol: sym.map { $0.1 == 0 ? $0.0.name : "\($0.0.name)+0x\(hex($0.1))" },
      function: sym?.0.name ?? hex0x(s.ip), stack: u.onStack(s.sp)?.crashLabel, exception: nil, reliable: reliable,
      words: nil)
  }
}
