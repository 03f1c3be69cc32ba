import ArgumentParser
import Kdig

struct PsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps",
    abstract: "List tasks from the kernel's task list (PID, task_struct, mm, pgd, comm), for vtop -c.")

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("ps", json: options.json) {
      let session = try options.openSession()
      let tasks = try TaskList(kernel: session.kernel).all()
      return CommandOutput(text: { TaskRenderer.render(tasks) }, json: { JSONOutput.render(tasks, command: "ps") })
    }
  }
}
