import ArgumentParser
import Kdig

struct BtCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bt",
    abstract: "Backtrace of the panicking task, a PID, a task, a CPU (--cpu) or every CPU (-a), with exception frames.",
    discussion: """
      Unwound with the kernel's own ORC tables across the task, IRQ, exception (NMI, DF, DB, \
      MCE) and entry stacks, printed in crash's layout: "--- <IRQ stack> ---" at each change \
      of stack, and at each pt_regs frame crash's exception block ([exception RIP: …], RIP, \
      RSP, RFLAGS, RAX…R15, ORIG_RAX, CS, SS). A CPU's active task starts from the dump's \
      register note for that CPU, any other task from its saved switch frame. A walk that \
      meets bad data ends with the reason. --all-tasks is crash's `foreach bt`.
      """)

  @Argument(help: "A PID, or a task_struct address (0x…).")
  var target: String?

  @Option(name: .long, help: "The active task of this CPU.")
  var cpu: Int?

  @Flag(name: .customShort("a"), help: "Every CPU's active task (crash bt -a).")
  var allCPUs = false

  @Flag(name: .customLong("all-tasks"), help: "Every task (crash foreach bt).")
  var allTasks = false

  @Flag(name: .customShort("e"), help: "Search the stacks for exception frames (crash bt -e).")
  var searchFrames = false

  @Flag(name: .customShort("f"), help: "Show each frame's stack words (crash bt -f).")
  var frameWords = false

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("bt", json: options.json) {
      let chosen: BacktraceTarget
      if allTasks {
        chosen = .allTasks
      } else if allCPUs {
        chosen = .allCPUs
      } else if let cpu {
        chosen = .cpu(cpu)
      } else if let target {
        if target.hasPrefix("0x") || target.count > 10, let a = parseInteger(target, defaultHex: true) {
          chosen = .task(a)
        } else if let pid = Int32(target) {
          chosen = .pid(pid)
        } else {
          throw UsageError("not a PID or task address: \(target)")
        }
      } else {
        chosen = .panicking
      }
      let session = try options.openSession()
      try session.requireSymbolsAndTypes()
      let kernel = session.kernel
      var traces = try kernel.backtraces(chosen)
      if frameWords { for i in traces.indices { kernel.addFrameWords(&traces[i]) } }
      if searchFrames {
        let found = try traces.map { b in
          (b, try kernel.searchExceptionFrames(stacks: try kernel.stacks(ofTask: b.task.value, cpu: b.cpu)))
        }
        return CommandOutput(
          text: { BacktraceRenderer.exceptionSearch(found) },
          json: { JSONOutput.render(found.map { BacktraceSearch(backtrace: $0.0, frames: $0.1) }, command: "bt") })
      }
      return CommandOutput(text: { BacktraceRenderer.crash(traces) }, json: { JSONOutput.render(traces, command: "bt") })
    }
  }
}
