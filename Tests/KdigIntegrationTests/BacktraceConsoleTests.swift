// `kdig bt` of the panicking task against the first oracle of all: the kernel's own "Call
// Trace:" on the sample's console (printed by dump_stack() inside panic()). Every frame the
// kernel printed without "?" appears in kdig's backtrace in the same order from panic() on,
// and every register the kernel printed for the interrupted context (user or kernel) equals
// kdig's exception frame. The samples cover a syscall (sysrq from init), an IRQ (sysrq from
// the keyboard, on the IRQ stack) and an NMI (on the NMI IST stack), on 6.1 and 6.12.

import Foundation
import Kdig
import KdigTestSupport
import Testing

/// The last call trace a console printed.
struct ConsoleTrace {
  /// Frames without "?" (function names), in order.
  var functions: [String] = []
  /// Register dumps in the trace: RIP, RSP, EFLAGS, ORIG_RAX, RAX…R15 as the kernel printed them.
  var registerSets: [[String: UInt64]] = []

  init?(console: String) {
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

@Suite struct BacktraceConsoleTests {
  @Test(arguments: Samples.forTests)
  func panickingTaskMatchesTheConsoleTrace(sample: Sample) throws {
    let s = try sample.require()
    let console = try String(contentsOfFile: try #require(s.console_log, "\(s.name): no console log"), encoding: .utf8)
    let trace = try #require(ConsoleTrace(console: console), "\(s.name): no Call Trace on the console")
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let bt = try #require(try kernel.backtraces(.panicking).first)
    #expect(bt.complete, "\(s.name): \(bt.end)")
    // kdig's frames as the console shows them: an interrupted kernel function is the
    // exception block's RIP, not a frame of its own.
    var names: [String] = []
    var skip: UInt64?
    for f in bt.frames {
      if let ip = skip, f.ip.value == ip { skip = nil; continue }
      skip = f.exception.flatMap { $0.mode == "kernel" ? $0.values.ip : nil }
      names.append(f.function)
    }
    let consoleFromPanic = Array(trace.functions.drop { $0 != "panic" })
    let kdigFromPanic = Array(names.drop { $0 != "panic" })
    #expect(!consoleFromPanic.isEmpty, "\(s.name): console trace has no panic frame: \(trace.functions)")
    #expect(kdigFromPanic == consoleFromPanic, "\(s.name):\n kdig    \(kdigFromPanic)\n console \(consoleFromPanic)")
    // The interrupted contexts' registers.
    let blocks = bt.frames.compactMap(\.exception)
    #expect(blocks.count == trace.registerSets.count, "\(s.name): \(blocks.count) exception frames, console has \(trace.registerSets.count)")
    for (mine, printed) in zip(blocks, trace.registerSets) {
      for (name, value) in printed where name != "kernelRIP" {
        #expect(mine.values[name] == value, "\(s.name): \(name) kdig \(hex0x(mine.values[name])) console \(hex0x(value))")
      }
    }
  }
}
