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

@Suite struct BacktraceConsoleTests {
  @Test(arguments: Samples.forTests)
  func panickingTaskMatchesTheConsoleTrace(sample: Sample) throws {
    let s = try sample.require()
    let console = try String(contentsOfFile: try #require(s.console_log, "\(s.name): no console log"), encoding: .utf8)
    let trace = try #require(ConsoleTrace(console: console), "\(s.name): no Call Trace on the console")
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let bt = try #require(try kernel.backtraces(.panicking).first)
    if !bt.complete, let why = try FilteredDumps.excusedBacktrace(s, end: bt.end) {
      print(why)
      return
    }
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
