// The kernel's own "Call Trace:" as a guest console printed it (dump_stack() inside panic()):
// the oracle for `kdig bt` of the panicking task (BacktraceConsoleTests, ShippedSampleTests).

import Foundation

/// The last call trace a console printed.
public struct ConsoleTrace {
  /// Frames without "?" (function names), in order.
  public var functions: [String] = []
  /// Register dumps in the trace: RIP, RSP, EFLAGS, ORIG_RAX, RAX…R15 as the kernel printed them.
  public var registerSets: [[String: UInt64]] = []

  public init?(console: String) {
    // The serial console ends lines with CR LF.
    let lines = console.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.lastIndex(where: { $0.contains("Call Trace:") }) else { return nil }
    var current: [String: UInt64] = [:]
    for raw in lines[(start + 1)...] {
      // "[    4.017946]  panic+0x344/0x3a0": drop the timestamp.
      guard let close = raw.firstIndex(of: "]") else { break }
      let text = raw[raw.index(after: close)...].trimmingCharacters(in: .whitespaces)
      // The trace ends with the task-context marker; a kdump capture kernel's boot log follows.
      if text.hasPrefix("</TASK>") || text.hasPrefix("Kernel Offset") || text.hasPrefix("---[ end") { break }
      if text.hasPrefix("<") || text.hasPrefix("Code:") { continue }
      if text.hasPrefix("RIP:") {
        if !current.isEmpty { registerSets.append(current) }
        current = [:]
        // "RIP: 0033:0x47b7a0" or "RIP: 0010:pv_native_safe_halt+0xf/0x20"
        let parts = text.dropFirst(4).trimmingCharacters(in: .whitespaces).split(separator: ":")
        if parts.count >= 2, parts[1].hasPrefix("0x"), let v = UInt64(parts[1].dropFirst(2), radix: 16) { current["ip"] = v }
        if parts.count >= 2, !parts[1].hasPrefix("0x") { current["kernelRIP"] = 1 }
        continue
      }
      if text.range(of: "^[A-Z0-9_]+: ", options: .regularExpression) != nil {
        // "RSP: 002b:00007ffeabe21dd8 EFLAGS: 00000202 ORIG_RAX: 0000000000000001", "RAX: … RBX: …"
        let tokens = text.split(separator: " ")
        var i = 0
        while i + 1 < tokens.count {
          let name = tokens[i].dropLast()
          let value = tokens[i + 1].split(separator: ":").last.map(String.init) ?? ""
          if let v = UInt64(value, radix: 16) { current[Self.ptRegsName(String(name))] = v }
          i += 2
        }
        continue
      }
      if text.hasPrefix("?") { continue }
      let name = text.split(separator: "+").first.map(String.init) ?? text
      functions.append(name)
    }
    if !current.isEmpty { registerSets.append(current) }
  }

  static func ptRegsName(_ printed: String) -> String {
    switch printed {
    case "EFLAGS": "flags"
    case "ORIG_RAX": "orig_ax"
    case "R08": "r8"
    case "R09": "r9"
    default: printed.hasPrefix("R") && printed.count == 3 && !printed.dropFirst().allSatisfy(\.isNumber) ? String(printed.dropFirst().lowercased()) : printed.lowercased()
    }
  }
}
