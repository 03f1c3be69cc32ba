import ArgumentParser
import Kdig

struct PsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps",
    abstract: "List tasks as crash's ps does (PID, PPID, CPU, task_struct, state, %MEM, VSZ, RSS, comm; > on each CPU's running task), every CPU's idle task included; --json adds mm and pgd, for vtop -c.",
    discussion: """
      Select tasks as crash does: a PID, a task_struct address, a command name (\\NAME for \
      an all-digit one) or 'REGEX' (quoted for the shell: "'^kworker'") matched against the \
      command; -k kernel threads only, -u user tasks only, -G thread-group leaders only. A \
      selector that names no task is an error (exit 64).
      """)

  @Argument(help: "PIDs, task_struct addresses, command names or 'regex' patterns.")
  var selectors: [String] = []

  @Flag(name: .customShort("k"), help: "Kernel threads only.")
  var kernelThreads = false

  @Flag(name: .customShort("u"), help: "User tasks only.")
  var userTasks = false

  @Flag(name: .customShort("G"), help: "Thread-group leaders only.")
  var groupLeaders = false

  @OptionGroup var options: DumpOptions

  func validate() throws {
    if kernelThreads && userTasks { throw ValidationError("-k and -u exclude each other") }
  }

  func run() throws {
    try runCommand("ps", json: options.json) {
      let filter = TaskFilter(
        kind: kernelThreads ? .kernelThreads : userTasks ? .userTasks : .all, groupLeadersOnly: groupLeaders,
        selectors: selectors)
      let session = try options.openSession()
      let tasks = try filter.apply(TaskList.psOrder(try TaskList(kernel: session.kernel).all(withDetails: true)))
      return CommandOutput(text: { TaskRenderer.render(tasks) }, json: { JSONOutput.render(tasks, command: "ps") })
    }
  }
}
