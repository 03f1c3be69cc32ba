// `bt -e`: search a task's stacks for pt_regs frames, as crash's x86_64_eframe_search does,
// each candidate validated the way crash's eframe verification does (x86_64.c
// x86_64_eframe_verify): kernel frames have CS __KERNEL_CS, SS __KERNEL_DS or 0, RIP in
// kernel text and RSP on a known stack; user frames CS __USER_CS/__USER32_CS, SS __USER_DS,
// RIP and RSP below the user address limit; RFLAGS bit 1 set and its reserved bits clear.

import KdigBinary
import KdigKernel
import KdigX86

/// A pt_regs frame found by searching a stack.
public struct FoundExceptionFrame: Sendable, Encodable {
  public var stack: String
  public var frame: PtRegsFrame
}

/// `bt -e` for one task: its header and the frames found.
public struct BacktraceSearch: Sendable, Encodable {
  public var backtrace: Backtrace
  public var frames: [FoundExceptionFrame]
  public init(backtrace: Backtrace, frames: [FoundExceptionFrame]) {
    self.backtrace = backtrace
    self.frames = frames
  }
}

extension KernelImage {
  /// Every plausible pt_regs frame on `stacks` (each word-aligned position, bounded by the stack sizes).
  public func searchExceptionFrames(stacks: [KernelStack]) throws -> [FoundExceptionFrame] {
    let layout = try ptRegsLayout()
    let map = try? stackMap()
    var out: [FoundExceptionFrame] = []
    for stack in stacks {
      let size = stack.top.value &- stack.base.value
      guard size >= UInt64(layout.size), size <= 1 << 20,
        let bytes = try? kernelSpace.bytes(at: stack.base.value, count: Int(size))
      else { continue }
      var offset = 0
      while offset + layout.size <= bytes.count {
        defer { offset += 8 }
        guard let regs = try? PtRegs(bytes: Array(bytes[offset..<(offset + layout.size)]), layout: layout),
          plausibleFrame(regs, stacks: stacks + (map?.cpuStacks ?? []))
        else { continue }
        let at = stack.base.value &+ UInt64(offset)
        out.append(FoundExceptionFrame(stack: stack.crashLabel, frame: explain(regs, at: at, layout: layout, vector: nil, stacks: map)))
      }
    }
    return out
  }

  func plausibleFrame(_ r: PtRegs, stacks: [KernelStack]) -> Bool {
    guard r.plausibleSegments, RFlags(r["flags"]).reservedBitsValid else { return false }
    if r.userMode { return r.ip < 0x0000_8000_0000_0000 && r.sp < 0x0000_8000_0000_0000 && r.ip != 0 }
    guard let sym = symbolize(r.ip), "Tt".contains(sym.symbol.letter) else { return false }
    return stacks.contains { $0.contains(r.sp) }
  }
}
