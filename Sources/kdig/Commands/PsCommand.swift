import ArgumentParser
import Kdig

struct PsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps",
    abstract: "List tasks as crash's ps does (PID, PPID, CPU, task_struct, state, %MEM, VSZ, RSS, comm; > on each CPU's running task), every CPU's idle task included; --json adds mm and pgd, for vtop -c.")

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("ps", json: options.json) {
      let session = try options.openSession()
      let tasks = TaskList.psOrder(try TaskList(kernel: session.kernel).all(withDetails: true))
      return CommandOutput(text: { TaskRenderer.render(tasks) }, json: { JSONOutput.render(tasks, command: "ps") })
    }
  }
}
