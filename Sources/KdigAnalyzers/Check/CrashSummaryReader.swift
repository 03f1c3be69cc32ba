// What crashed, for `kdig check`: the panic message from the kernel log (the last "Kernel
// panic - not syncing: …" record, else the last oops line: "BUG:", "Oops:", "general
// protection fault") and the panicking task's backtrace (`bt`), so a CI summary answers
// "why did this VM die" as well as "is its kernel intact".

import KdigBinary
import KdigKernel

extension KernelImage {
  /// The crash summary, or nil when the dump shows no panic (no message and no panic_cpu).
  public func crashSummary() -> CrashSummary? {
    let message = panicMessage()
    let trace = try? backtraces(.panicking).first
    guard message != nil || trace != nil else { return nil }
    var frames: [String] = []
    for f in trace?.frames ?? [] {
      frames.append(f.symbol ?? f.function)
      if let e = f.exception {
        frames.append(e.mode == "user" ? "[user mode: RIP \(hex0x(e.values.ip))]" : "[exception RIP: \(e.ripSymbol ?? hex0x(e.values.ip))]")
      }
    }
    return CrashSummary(
      message: message, task: trace.map { "PID \($0.pid) \"\($0.command)\" (\(hex0x($0.task.value)))" }, cpu: trace?.cpu,
      frames: frames)
  }

  /// The panic message, else the last oops line, from the printk ring.
  func panicMessage() -> String? {
    guard let log = try? KernelLogReader(kernel: self).read() else { return nil }
    var oops: String?
    for entry in log.entries.reversed() {
      guard case .record(let r) = entry else { continue }
      let text = String(decoding: r.textBytes, as: UTF8.self)
      // panic() prints "Kernel panic - not syncing: MSG" first and "---[ end Kernel panic -
      // not syncing: MSG ]---" last: the first form is the message.
      let prefix = "Kernel panic - not syncing: "
      if text.hasPrefix(prefix) {
        return String(text.dropFirst(prefix.count).prefix { $0 != "\n" })
      }
      if oops == nil, ["BUG: ", "Oops: ", "general protection fault"].contains(where: { text.hasPrefix($0) }) {
        oops = String(text.prefix { $0 != "\n" })
      }
    }
    return oops
  }
}
