// `bt` in crash's layout: the header line, "#N [stack slot] function at ip", the exception
// block of every pt_regs frame, and "--- <IRQ stack> ---" where the walk leaves a stack.

import KdigAnalyzers
import KdigBinary

public enum BacktraceRenderer {
  public static func crash(_ traces: [Backtrace]) -> String {
    traces.map(one).joined(separator: "\n")
  }

  /// crash's header line; then what the dump lacked about the task, one line each.
  static func header(_ b: Backtrace) -> String {
    let pid = b.pid < 0 ? "?" : String(b.pid)
    return "PID: \(rightPad(pid, 7))  TASK: \(hex(b.task.value))  CPU: \(rightPad(b.cpu.map(String.init) ?? "-", 3))  COMMAND: \"\(b.command)\"\n"
      + b.notes.map { "    (\($0))\n" }.joined()
  }

  /// crash `bt -e`: every exception frame found on the task's stacks.
  public static func exceptionSearch(_ found: [(Backtrace, [FoundExceptionFrame])]) -> String {
    found.map { b, frames in
      var out = header(b)
      if frames.isEmpty { out += "  (no exception frames found)\n" }
      for f in frames {
        var values: [String: UInt64] = [:]
        for field in f.frame.fields { values[field.name] = field.value.value }
        out += "\n \(f.frame.mode.uppercased())-MODE EXCEPTION FRAME AT: \(hex(f.frame.address.value))  (\(f.stack))\n"
        if f.frame.mode == "kernel" { out += "    [exception RIP: \(f.frame.ripSymbol.map { crashOffset($0) } ?? "unknown or invalid address")]\n" }
        out += RegsRenderer.crashBlock(values)
      }
      return out
    }.joined(separator: "\n")
  }

  static func one(_ b: Backtrace) -> String {
    var out = header(b)
    var number = 0
    var skipIP: UInt64?
    for (i, f) in b.frames.enumerated() {
      if i > 0, let prev = b.frames[i - 1].stack, prev != f.stack, prev != "task stack" {
        out += "--- <\(prev)> ---\n"
      }
      // crash shows an interrupted kernel function in the exception block, not as a frame,
      // unless the interrupt had switched stacks (then the frame opens the interrupted stack).
      if let ip = skipIP, ip == f.ip.value, f.exception == nil, i > 0, b.frames[i - 1].stack == f.stack {
        skipIP = nil
        continue
      }
      skipIP = nil
      out += "\(leftPad("#\(number)", 3)) [\(hex(f.stackAddress.value))] \(f.function) at \(hex(f.ip.value))\(f.reliable ? "" : " ?")\n"
      number += 1
      if let words = f.words, !words.isEmpty {
        for i in stride(from: 0, to: words.count, by: 2) {
          let addr = f.stackAddress.value &+ UInt64(i * 8)
          out += "    \(hex(addr)): " + words[i..<min(i + 2, words.count)].map { hexPadded($0.value, width: 16) }.joined(separator: " ") + "\n"
        }
      }
      if let e = f.exception {
        var values: [String: UInt64] = [:]
        for field in e.fields { values[field.name] = field.value.value }
        if e.mode == "kernel" {
          out += "    [exception RIP: \(e.ripSymbol.map { crashOffset($0) } ?? "unknown or invalid address")]\n"
          skipIP = values["ip"]
        }
        out += RegsRenderer.crashBlock(values)
      }
    }
    if b.end != "end of stack" && b.end != "user mode" { out += "    (walk ended: \(b.end))\n" }
    return out
  }

  /// crash writes offsets in decimal: "delay_tsc+55".
  static func crashOffset(_ symbol: String) -> String {
    guard let plus = symbol.firstIndex(of: "+") else { return symbol }
    let off = symbol[symbol.index(after: plus)...]
    guard off.hasPrefix("0x"), let v = UInt64(off.dropFirst(2), radix: 16) else { return symbol }
    return "\(symbol[..<plus])+\(v)"
  }
}
