// Which tasks `bt` unwinds and from where: no argument is the panicking task (panic_cpu's
// current task, crash's default), `--cpu N` that CPU's active task, `-a` every CPU's active
// task (crash `bt -a`), a PID or task_struct address any task. A task running on a CPU the
// dump has registers for starts from them; any other task from its switch frame.

import KdigBinary
import KdigKernel

/// What `bt` was asked for.
public enum BacktraceTarget: Sendable {
  case panicking
  case cpu(Int)
  case allCPUs
  case pid(Int32)
  case task(UInt64)
  case allTasks
}

extension KernelImage {
  static let unreadableTaskNote = "the task_struct's pid and comm are not in the dump; the PID is the one init_pid_ns gives it"

  /// The stacks a task's backtrace may read: its own, and its CPU's when it is running.
  public func stacks(ofTask task: UInt64, cpu: Int?) throws -> [KernelStack] {
    let map = try stackMap()
    return (ownStack(task, threadSize: map.threadSize).map { [$0.stack] } ?? []) + map.cpuStacks.filter { cpu != nil && $0.cpu == cpu }
  }

  public func backtraces(_ target: BacktraceTarget) throws -> [Backtrace] {
    let cpus = try perCPUSet()
    let map = try stackMap()
    // The task list only when a PID or every task is asked for (it reads every task_struct).
    let needsTasks: Bool
    switch target {
    case .pid, .allTasks: needsTasks = true
    default: needsTasks = false
    }
    let tasks = needsTasks ? ((try? TaskList(kernel: self).all()) ?? []) : []
    var namespacePIDs: [UInt64: Int32]?
    let byAddress = Dictionary(tasks.map { ($0.task.value, $0) }, uniquingKeysWith: { a, _ in a })
    /// PID, command and what could not be read of them.
    func describe(_ task: UInt64) -> (Int32, String, [String]) {
      // The task list already asked init_pid_ns for the PIDs it could not read.
      if let t = byAddress[task] {
        return (t.pid, t.comm, t.pidFromNamespace ? [Self.unreadableTaskNote] : [])
      }
      guard let t = try? types(), let p = try? t.offsetof("task_struct.pid"), let c = try? t.offsetof("task_struct.comm")
      else { return (-1, "?", []) }
      let bytes = (try? kernelSpace.bytes(at: task &+ UInt64(c), count: 16)) ?? []
      let comm = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
      if let pid = try? kernelSpace.integer(Int32.self, at: task &+ UInt64(p)) { return (pid, comm, []) }
      // A filtered dump dropped the task_struct's page: the namespace still names its PID
      // (walked once per command, however many tasks lack their page).
      if namespacePIDs == nil { namespacePIDs = (try? scanInitPidNamespace())?.pidOfTask ?? [:] }
      let nr = namespacePIDs?[task]
      return (nr ?? -1, comm, [Self.unreadableTaskNote + (nr == nil ? "; no PID in init_pid_ns names it" : "")])
    }
    /// CPU whose current task is `task`.
    func runningCPU(_ task: UInt64) -> Int? { cpus.possible.first { currentTask(cpu: $0, cpus: cpus) == task } }
    func trace(_ task: UInt64, cpu: Int?) throws -> Backtrace {
      var (pid, comm, notes) = describe(task)
      let stack = ownStack(task, threadSize: map.threadSize)
      let own = stack?.stack
      if let note = stack?.note { notes.append(note) }
      var b: Backtrace
      if let cpu, cpu < noteCPUCount, let start = unwindStart(cpu: cpu) {
        let stacks = (own.map { [$0] } ?? []) + map.cpuStacks.filter { $0.cpu == cpu }
        b = try backtrace(start: start, stacks: stacks, pid: pid, task: task, cpu: cpu, command: comm)
      } else {
        let start = try unwindStart(sleepingTask: task)
        b = try backtrace(start: start, stacks: own.map { [$0] } ?? [], pid: pid, task: task, cpu: runningCPU(task), command: comm)
      }
      b.notes = notes
      return b
    }
    switch target {
    case .panicking:
      guard let cpu = cpus.panicCPU ?? (noteCPUCount == 1 ? 0 : nil), let task = currentTask(cpu: cpu, cpus: cpus) else {
        throw PerCPUError("no panicking CPU (panic_cpu is unset): name a PID, a task, --cpu N or -a", .usage)
      }
      return [try trace(task, cpu: cpu)]
    case .cpu(let cpu):
      guard cpus.possible.contains(cpu), let task = currentTask(cpu: cpu, cpus: cpus) else {
        throw PerCPUError("CPU \(cpu) is not a possible CPU", .usage)
      }
      return [try trace(task, cpu: cpu)]
    case .allCPUs:
      return try cpus.possible.compactMap { cpu in try currentTask(cpu: cpu, cpus: cpus).map { try trace($0, cpu: cpu) } }
    case .pid(let pid):
      guard let t = tasks.first(where: { $0.pid == pid }) else { throw PerCPUError("no task with PID \(pid)", .usage) }
      return [try trace(t.task.value, cpu: runningCPU(t.task.value))]
    case .task(let address):
      return [try trace(address, cpu: runningCPU(address))]
    case .allTasks:
      return tasks.compactMap { t in try? trace(t.task.value, cpu: runningCPU(t.task.value)) }
    }
  }
}
