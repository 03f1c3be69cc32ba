// Each CPU's idle task and the task it was running, from its runqueue (kernel/sched/sched.h
// struct rq: idle, curr; per-CPU `runqueues`). The idle tasks of CPUs other than 0 (swapper/N,
// made by fork_idle with PID 0) are on no task list and in no PID namespace: crash and drgn
// list them from here; init_task is CPU 0's.

import KdigKernel

/// rq->idle and rq->curr of every possible CPU that has a runqueue.
public struct RunQueueTasks {
  /// Each CPU's struct rq (per-CPU `runqueues`).
  public var runqueues: [(cpu: Int, address: UInt64)] = []
  public var idle: [(cpu: Int, task: UInt64)] = []
  /// rq->curr → its CPU.
  public var current: [UInt64: Int] = [:]

  public init(_ kernel: KernelImage, cpus: PerCPUSet? = nil) {
    guard let types = try? kernel.types(), let cpus = cpus ?? (try? kernel.perCPUSet()),
      let idleOff = try? types.offsetof("rq.idle"), let currOff = try? types.offsetof("rq.curr")
    else { return }
    let space = kernel.kernelSpace
    for cpu in cpus.possible {
      guard let rq = try? kernel.perCPUAddress("runqueues", cpu: cpu, in: cpus) else { continue }
      runqueues.append((cpu, rq))
      if let t = try? space.u64(at: rq &+ UInt64(idleOff)), t != 0 { idle.append((cpu, t)) }
      // Offline CPUs too: panic() stops the others through stop_this_cpu, which takes them
      // offline, yet each was running its rq->curr (crash marks them all).
      if let t = try? space.u64(at: rq &+ UInt64(currOff)), t != 0 { current[t] = cpu }
    }
  }

  /// Every idle and running task.
  public var tasks: Set<UInt64> { Set(idle.map(\.task)).union(current.keys) }
}

extension TaskList {
  /// Adds the idle tasks of the CPUs after init_task (crash and drgn list them first, by CPU)
  /// and marks each CPU's running task and idle task.
  func addRunQueueTasks(
    _ tasks: inout [TaskInfo], seen: inout Set<UInt64>, cpus: PerCPUSet?, info: (UInt64) -> TaskInfo
  ) {
    let rq = RunQueueTasks(kernel, cpus: cpus)
    var added: [TaskInfo] = []
    var idleCPU: [UInt64: Int] = [:]
    for (cpu, task) in rq.idle {
      idleCPU[task] = idleCPU[task] ?? cpu
      if seen.insert(task).inserted { added.append(info(task)) }
    }
    tasks.insert(contentsOf: added, at: min(1, tasks.count))
    for i in tasks.indices {
      tasks[i].idleOfCPU = idleCPU[tasks[i].task.value]
      tasks[i].activeOnCPU = rq.current[tasks[i].task.value]
    }
  }
}
