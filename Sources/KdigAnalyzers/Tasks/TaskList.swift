// The kernel's task list, walked from init_task through task_struct.tasks (thread-group
// leaders) and each leader's signal->thread_head / thread_node list (threads), with struct
// offsets from DWARF. Bounded: a corrupt list ends with an error, never a hang.

import KdigBinary
import KdigKernel

/// One task as `vtop -c` needs it.
public struct TaskInfo: Sendable, Encodable {
  public var pid: Int32
  public var comm: String
  /// Address of the task_struct.
  public var task: Hex64
  /// task->mm (0 for kernel threads).
  public var mm: Hex64
  /// mm->pgd (virtual), when there is an mm.
  public var pgd: Hex64?
  /// What could not be read about this task (filtered dumps drop pages).
  public var problem: String?
  /// The task_struct's pid was unreadable and `pid` is init_pid_ns's (said in `problem`).
  public var pidFromNamespace = false
  // crash's `ps` columns (TaskDetails.swift); nil when unreadable.
  public var tgid: Int32?
  /// task->parent->pid.
  public var ppid: Int32?
  /// task_cpu(): the CPU it last ran on.
  public var cpu: Int?
  public var state: TaskState?
  /// PF_KTHREAD.
  public var kernelThread: Bool?
  /// mm->total_vm in bytes (0 for kernel threads).
  public var vszBytes: UInt64?
  /// get_mm_rss() in pages (0 for kernel threads).
  public var rssPages: UInt64?
  /// rssPages / totalram_pages × 100: crash's %MEM.
  public var memPercent: Double?
  /// The CPU whose runqueue was running it (rq->curr): crash's `>`.
  public var activeOnCPU: Int?
  /// The CPU it is the idle task of (rq->idle: swapper/N).
  public var idleOfCPU: Int?

  /// Adds what could not be read or where the task came from, after (or before) what is said.
  mutating func addProblem(_ text: String, first: Bool = false) {
    problem = problem.map { first ? "\(text); \($0)" : "\($0); \(text)" } ?? text
  }

  public init(pid: Int32, comm: String, task: Hex64, mm: Hex64, pgd: Hex64?, problem: String?) {
    (self.pid, self.comm, self.task, self.mm, self.pgd, self.problem) = (pid, comm, task, mm, pgd, problem)
  }

  enum CodingKeys: String, CodingKey {
    case pid, comm, task, mm, pgd, problem, tgid, ppid, cpu, state, kernelThread, vszBytes, rssPages, memPercent, activeOnCPU,
      idleOfCPU
  }
}

/// Why a task list walk stopped.
public struct TaskListError: KdigError {
  public var message: String
  public var category: ErrorCategory { .malformedInput }
  public var description: String { message }
}

/// Reads the task list of a kernel.
public struct TaskList {
  public let kernel: KernelImage
  /// More tasks than this means the list is corrupt (PID_MAX_LIMIT is 4M).
  public static let limit = 1 << 22

  public init(kernel: KernelImage) { self.kernel = kernel }

  struct Layout {
    var tasks, pid, comm, commSize, mm, pgd: Int
    var signal, threadHead, threadNode, groupLeader: Int?
  }

  func layout() throws -> Layout {
    let t = try kernel.types()
    let comm = try t.member("task_struct.comm")
    var threadHead: Int?
    var threadNode: Int?
    var signal: Int?
    if let head = try? t.offsetof("signal_struct.thread_head"), let node = try? t.offsetof("task_struct.thread_node"),
      let sig = try? t.offsetof("task_struct.signal")
    {
      (threadHead, threadNode, signal) = (head, node, sig)
    }
    return Layout(
      tasks: try t.offsetof("task_struct.tasks"), pid: try t.offsetof("task_struct.pid"),
      comm: comm.offset, commSize: max(1, min(comm.size ?? 16, 64)), mm: try t.offsetof("task_struct.mm"),
      pgd: try t.offsetof("mm_struct.pgd"), signal: signal, threadHead: threadHead, threadNode: threadNode,
      groupLeader: try? t.offsetof("task_struct.group_leader"))
  }

  /// Every task: init_task, the other CPUs' idle tasks, then leaders in list order, each
  /// followed by its other threads; `withDetails` adds crash's `ps` columns (TaskDetails.swift). When a task in
  /// the middle is unreadable (a filtered dump dropped its page), the list is walked backwards
  /// from init_task through tasks.prev to recover the tasks after the gap; when anything was
  /// unreadable, init_pid_ns's PIDs add the tasks between two gaps and the PIDs of tasks
  /// whose own page is missing (PidNamespace.swift).
  public func all(withDetails: Bool = false) throws -> [TaskInfo] {
    let l = try layout()
    let initTask = try kernel.lookup("init_task").address
    var seen = Set<UInt64>()
    var out = try walk(from: initTask, head: initTask, forward: true, l, &seen)
    if out.last?.problem?.hasPrefix("gap in the task list") == true {
      let tail = try walk(from: initTask, head: initTask, forward: false, l, &seen)
      out += tail.dropFirst().reversed()
    }
    if out.contains(where: { $0.problem != nil }), let scan = try? kernel.scanInitPidNamespace() {
      let reached = out.count
      Self.complete(&out, seen: &seen, from: scan) { info($0, l) }
      // A leader found through the namespace sits on the list between the gaps: the tasks
      // linked to it whose struct pid the dump dropped are reached from it, both ways.
      // Only a leader is on the list (a thread's tasks field is a stale copy of its parent's).
      for t in out[reached...] where t.pid >= 0 && !t.pidFromNamespace && isGroupLeader(t.task.value, l) {
        for forward in [true, false] {
          guard let more = try? walk(from: t.task.value, head: initTask, forward: forward, l, &seen, linkedTo: t.pid) else { continue }
          let found = more.dropFirst()
          out += forward ? Array(found) : found.reversed()
        }
      }
    }
    let cpus = try? kernel.perCPUSet()
    addRunQueueTasks(&out, seen: &seen, cpus: cpus) { info($0, l) }
    if withDetails { addDetails(&out, cpus: cpus) }
    return out
  }

  /// Gives tasks read without a PID the namespace's number, and appends the namespace's tasks
  /// the list walk did not reach, in PID order.
  static func complete(
    _ tasks: inout [TaskInfo], seen: inout Set<UInt64>, from scan: PidNamespaceScan, info: (UInt64) -> TaskInfo
  ) {
    let nr = scan.pidOfTask
    for i in tasks.indices where tasks[i].pid == -1 {
      if let n = nr[tasks[i].task.value] {
        tasks[i].pid = n
        tasks[i].pidFromNamespace = true
        tasks[i].addProblem("PID from init_pid_ns")
      }
    }
    for p in scan.pids {
      guard let task = p.task, seen.insert(task).inserted else { continue }
      var t = info(task)
      if t.pid == -1 { (t.pid, t.pidFromNamespace) = (p.nr, true) }
      t.addProblem("not reached on the task list: found through init_pid_ns", first: true)
      tasks.append(t)
    }
  }

  /// The leaders (and their threads) from `start` along tasks.next (or .prev) to `head` or the
  /// first task already seen. `linkedTo`: the PID of a start found through init_pid_ns, said
  /// on each task this walk adds.
  func walk(
    from start: UInt64, head: UInt64, forward: Bool, _ l: Layout, _ seen: inout Set<UInt64>, linkedTo pid: Int32? = nil
  ) throws -> [TaskInfo] {
    let space = kernel.kernelSpace
    var out: [TaskInfo] = []
    var leader = start
    var first = true
    repeat {
      if !first && !seen.insert(leader).inserted { break }  // met the forward walk
      if first { seen.insert(leader) }
      first = false
      guard out.count < Self.limit else {
        throw TaskListError(message: "task list loops or is too long at task_struct 0x\(hex(leader))")
      }
      var leaderInfo = info(leader, l)
      var members: [TaskInfo] = []
      let note = pid.map { "not reached from init_task: linked to PID \($0), found through init_pid_ns" }
      if leader != start, let note { leaderInfo.addProblem(note, first: true) }
      do {
        for thread in try threads(of: leader, l) where seen.insert(thread).inserted {
          var t = info(thread, l)
          if let note, leader != start { t.addProblem(note, first: true) }
          members.append(t)
        }
      } catch {
        // A filtered dump may lack the page of signal_struct: keep the task, say what is missing.
        leaderInfo.addProblem("thread list unreadable: \(error)")
      }
      // list_head: next at +0, prev at +8.
      guard let next = try? space.u64(at: leader &+ UInt64(l.tasks) &+ (forward ? 0 : 8)) else {
        // The list cannot go on: report what was read, and why it stops here.
        // From init_task, all() looks for this note first on the last task.
        leaderInfo.addProblem(
          pid == nil
            ? "gap in the task list: tasks.next of this task is not in the dump; later tasks come from walking the list backwards"
            : "gap in the task list: tasks.\(forward ? "next" : "prev") of this task is not in the dump", first: pid == nil)
        out.append(leaderInfo)
        out += members
        break
      }
      out.append(leaderInfo)
      out += members
      leader = next &- UInt64(l.tasks)
    } while leader != head
    return out
  }

  /// task->group_leader == task.
  func isGroupLeader(_ task: UInt64, _ l: Layout) -> Bool {
    guard let off = l.groupLeader, let leader = try? kernel.kernelSpace.u64(at: task &+ UInt64(off)) else { return false }
    return leader == task
  }

  /// Threads other than `leader` on its signal->thread_head list (6.7+ kernels).
  func threads(of leader: UInt64, _ l: Layout) throws -> [UInt64] {
    guard let signalOff = l.signal, let headOff = l.threadHead, let nodeOff = l.threadNode else { return [] }
    let space = kernel.kernelSpace
    let signal = try space.u64(at: leader &+ UInt64(signalOff))
    guard signal != 0 else { return [] }
    let head = signal &+ UInt64(headOff)
    var out: [UInt64] = []
    var visited: Set<UInt64> = [head]
    var node = try space.u64(at: head)
    while node != head {
      // A node met twice is a loop that never returns to the head (a damaged list).
      guard visited.insert(node).inserted, out.count < Self.limit else {
        throw TaskListError(message: "thread list of task 0x\(hex(leader)) loops at 0x\(hex(node)) without returning to signal->thread_head")
      }
      let task = node &- UInt64(nodeOff)
      if task != leader { out.append(task) }
      node = try space.u64(at: node)
    }
    return out
  }

  /// One task's fields; what cannot be read is said in `problem` (filtered dumps drop pages).
  func info(_ task: UInt64, _ l: Layout) -> TaskInfo {
    let space = kernel.kernelSpace
    var t = TaskInfo(pid: -1, comm: "", task: Hex64(task), mm: Hex64(0), pgd: nil, problem: nil)
    do {
      t.pid = try space.integer(Int32.self, at: task &+ UInt64(l.pid))
      let commBytes = try space.bytes(at: task &+ UInt64(l.comm), count: l.commSize)
      t.comm = String(decoding: commBytes.prefix { $0 != 0 }, as: UTF8.self)
      let mm = try space.u64(at: task &+ UInt64(l.mm))
      t.mm = Hex64(mm)
      if mm != 0 { t.pgd = Hex64(try space.u64(at: mm &+ UInt64(l.pgd))) }
    } catch {
      t.problem = "\(error)"
    }
    return t
  }

  /// The task with `pid`, or whose task_struct is at `address`.
  public func find(_ selector: String) throws -> TaskInfo {
    let tasks = try all()
    if let pid = Int32(selector), let t = tasks.first(where: { $0.pid == pid }) { return t }
    if let address = parseInteger(selector, defaultHex: true), let t = tasks.first(where: { $0.task.value == address }) {
      return t
    }
    throw TaskListError(message: "no task with PID or task_struct address \(selector)")
  }
}
