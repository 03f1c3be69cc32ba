// `kdig bt` against crash 8.0.2's `bt -a` and `foreach bt` on the 6.1 samples
// (Samples/oracles/bt_crash.sh), line for line where the layouts match: every frame crash
// prints on a task's own stack (after its last "--- <… stack> ---" separator, or the whole
// block when there is none) equals kdig's — stack slot, function and address.
// Explained differences, skipped and counted: crash's blocks that it could not finish ("read
// of stack … failed": it does not know the VC stacks of 6.1) or marked "possibly bogus
// exception frame" (it misplaces the IRQ frame on 6.1-sysrq-irq), and the panicking task,
// where crash lists stale return addresses it finds by scanning the stack (and on a kdump
// starts below the saved registers) (BT.md).

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct BacktraceCrashTests {
  struct CrashFrame: Equatable, CustomStringConvertible {
    var slot: UInt64
    var function: String
    var ip: UInt64
    var description: String { "[\(hex0x(slot))] \(function) at \(hex0x(ip))" }
  }

  struct Block {
    var task: UInt64
    var frames: [[CrashFrame]] = [[]]  // split at separators
    var unusable: String?
  }

  static func blocks(_ text: String, after command: String) -> [Block] {
    guard let start = text.range(of: "crash> \(command)\n") else { return [] }
    var out: [Block] = []
    for line in text[start.upperBound...].split(separator: "\n") {
      if line.hasPrefix("crash> ") { break }
      if line.hasPrefix("PID: ") {
        let words = line.split(separator: " ")
        let task = words.firstIndex(of: "TASK:").flatMap { UInt64(words[$0 + 1], radix: 16) } ?? 0
        out.append(Block(task: task))
        continue
      }
      guard !out.isEmpty else { continue }
      if line.contains("failed") || line.contains("bogus") { out[out.count - 1].unusable = String(line) }
      if line.hasPrefix("--- <") { out[out.count - 1].frames.append([]); continue }
      let w = line.split(separator: " ")
      guard w.count >= 5, w[0].hasPrefix("#"), w[1].hasPrefix("["), w[3] == "at",
        let slot = UInt64(w[1].dropFirst().dropLast(), radix: 16), let ip = UInt64(w[4], radix: 16)
      else { continue }
      out[out.count - 1].frames[out[out.count - 1].frames.count - 1].append(CrashFrame(slot: slot, function: String(w[2]), ip: ip))
    }
    return out
  }

  /// crash gives nothing comparable here: CPU 0's block fails ("read of stack … failed"),
  /// CPU 1's is a "possibly bogus exception frame", and `foreach bt` aborts on the first.
  static let nothingUsable: Set<String> = ["6.1-sysrq-irq-qemu-elf"]

  static let withCrash = Samples.forTests.filter { $0.oracles?["bt.crash"] != nil || $0.oracles == nil }

  @Test(arguments: withCrash)
  func taskStackFramesEqualCrash(sample: Sample) throws {
    let s = try sample.require()
    let text = try String(contentsOfFile: try #require(s.oracles?["bt.crash"]), encoding: .utf8)
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let panicking = try kernel.backtraces(.panicking).first?.task.value
    var compared = 0
    var skipped: [String] = []
    for command in ["bt -a", "foreach bt"] {
      for b in Self.blocks(text, after: command) {
        if let why = b.unusable { skipped.append("\(hex0x(b.task)): \(why)"); continue }
        let isSeparated = b.frames.count > 1
        if !isSeparated && b.task == panicking {
          skipped.append("\(hex0x(b.task)): the panic task (crash's stale-frame scan)")
          continue
        }
        let theirs = b.frames.last ?? []
        guard !theirs.isEmpty else { continue }
        let mine = try Self.rendered(try #require(try kernel.backtraces(.task(b.task)).first))
        #expect(Array(mine.suffix(theirs.count)) == theirs, "\(s.name) \(command) task \(hex0x(b.task)):\n kdig  \(mine)\n crash \(theirs)")
        compared += 1
      }
    }
    if Self.nothingUsable.contains(s.name) {
      #expect(compared == 0 && !skipped.isEmpty, "\(s.name): crash now gives usable blocks: compare them")
    } else {
      #expect(compared > 0, "\(s.name): no crash block compared; skipped \(skipped)")
    }
  }

  /// kdig's frames as its text shows them (an exception block's interrupted function is a
  /// frame of its own only after a change of stack, as in crash).
  static func rendered(_ b: Backtrace) throws -> [CrashFrame] {
    var out: [CrashFrame] = []
    var skip: UInt64?
    for (i, f) in b.frames.enumerated() {
      if let ip = skip, f.ip.value == ip, f.exception == nil, i > 0, b.frames[i - 1].stack == f.stack { skip = nil; continue }
      skip = f.exception.flatMap { $0.mode == "kernel" ? $0.values.ip : nil }
      out.append(CrashFrame(slot: f.stackAddress.value, function: f.function, ip: f.ip.value))
    }
    return out
  }
}
