// The ORC unwinder over fuzzed stacks: the kernel around them is real — the shipped extract
// of the 6.12 QEMU dump (Samples/shipped), opened once with kallsyms and BTF from the dump —
// and the panicking task's stack pages are replaced by the input, with the start registers
// taken from its front. `backtrace(start:stacks:…)` must end by itself (the walk is bounded
// at 256 frames and every read is checked to lie on a known stack) whatever the stack holds.
//
// Input: u16 ip delta (from the real start's IP, signed), u16 SP offset in the stack, u64 BP,
// u8 flags (bit 0: BP taken as an offset in the stack, bit 1: signal), then the stack bytes
// (the task's 16 KiB; missing bytes are the real stack's).

import KdigAnalyzers
import KdigBinary
import KdigDump
import KdigKernel
import KdigMemory

enum UnwindTarget {
  /// The repository's shipped extract.
  static let shipped = FuzzCorpus.repositoryRoot + "/Samples/shipped/6.12-qemu-elf.kdump"

  struct Setup {
    let kernel: KernelImage
    let overlay: OverlayDump
    let start: UnwindStart
    let stacks: [KernelStack]
    let task: KernelStack
    /// Physical address of each page of the task stack, in order.
    let pages: [UInt64]
    let realStack: [UInt8]
  }

  nonisolated(unsafe) static var setup: Result<Setup, any Error> = Result { try makeSetup() }

  static func makeSetup() throws -> Setup {
    let overlay = OverlayDump(try openDump(path: shipped))
    let kernel = try KernelImage(dump: overlay, vmlinux: nil)
    guard let real = try kernel.backtraces(.panicking).first, let cpu = real.cpu,
      let start = kernel.unwindStart(cpu: cpu)
    else { throw FuzzSetupError("the shipped sample has no panicking task with registers") }
    let stacks = try kernel.stacks(ofTask: real.task.value, cpu: cpu)
    guard let task = stacks.first(where: { $0.kind == .task }) else { throw FuzzSetupError("no task stack") }
    let page = UInt64(overlay.pageSize)
    var pages: [UInt64] = []
    var address = task.base.value
    while address < task.top.value {
      pages.append(try kernel.kernelSpace.translate(address))
      address &+= page
    }
    let realStack = try kernel.kernelSpace.bytes(at: task.base.value, count: Int(task.top.value - task.base.value))
    return Setup(kernel: kernel, overlay: overlay, start: start, stacks: stacks, task: task, pages: pages, realStack: realStack)
  }

  static func run(_ bytes: [UInt8]) throws {
    let s = try setup.get()
    var cursor = FuzzCursor(bytes)
    let ipDelta = Int64(Int16(bitPattern: cursor.u16()))
    let spOffset = UInt64(cursor.u16()) % UInt64(s.realStack.count)
    let bpWord = cursor.u64()
    let flags = cursor.u8()
    var stack = cursor.take(s.realStack.count)
    stack += s.realStack[stack.count...]
    let page = s.overlay.pageSize
    s.overlay.pages = [:]
    for (i, physical) in s.pages.enumerated() { s.overlay.pages[physical] = Array(stack[(i * page)..<((i + 1) * page)]) }
    defer { s.overlay.pages = [:] }
    let base = s.task.base.value
    let start = UnwindStart(
      ip: s.start.ip &+ UInt64(bitPattern: ipDelta), sp: base &+ spOffset,
      bp: flags & 1 != 0 ? base &+ bpWord % UInt64(stack.count) : bpWord, registers: s.start.registers,
      signal: flags & 2 != 0, source: "fuzz", firstSlot: base &+ spOffset)
    let b = try s.kernel.backtrace(start: start, stacks: s.stacks, pid: 1, task: s.task.task?.value ?? 0, cpu: 0, command: "fuzz")
    // For replays: the real stack from the real start must reach panic's callers.
    if bytes.count <= 13 && ipDelta == 0 && !b.frames.contains(where: { $0.function == "panic" }) {
      throw FuzzSetupError("the real stack did not unwind through panic")
    }
  }

  /// The seed: the real start (no deltas) over the real stack.
  static func seed() throws -> [UInt8] {
    let s = try setup.get()
    var out: [UInt8] = [0, 0]
    let sp = UInt16(truncatingIfNeeded: s.start.sp &- s.task.base.value)
    out += [UInt8(sp & 0xff), UInt8(sp >> 8)]
    withUnsafeBytes(of: s.start.bp.littleEndian) { out += $0 }
    out.append(2)  // signal: the start is a register note
    return out
  }
}

/// A dump whose pages can be replaced (the fuzzed stack), everything else from `base`.
final class OverlayDump: WrappingDump {
  let base: any DumpFile
  var pages: [UInt64: [UInt8]] = [:]
  init(_ base: any DumpFile) { self.base = base }

  var wrapped: any DumpFile { base }

  func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    let size = UInt64(pageSize)
    var done = 0
    // Page by page: an overlaid page from `pages`, the rest from the dump.
    while done < buffer.count {
      let at = address &+ UInt64(done)
      let pageStart = at / size * size
      let inPage = Int(at - pageStart)
      let n = min(buffer.count - done, pageSize - inPage)
      let part = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)])
      if let p = pages[pageStart], p.count == pageSize {
        p.withUnsafeBytes { src in part.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[inPage..<(inPage + n)])) }
      } else {
        try base.read(at, into: part)
      }
      done += n
    }
  }
}
