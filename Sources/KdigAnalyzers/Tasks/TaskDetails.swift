// What crash's `ps` shows of a task beyond its identity: parent PID, last CPU, state, kernel
// thread or not, VSZ and RSS. Every offset from DWARF/BTF; each field read on its own, so a
// filtered dump that lost the mm_struct still gives the state and CPU.
//   PPID  task->parent->pid (crash task.c, drgn's crash `ps`).
//   CPU   task_cpu(): thread_info.cpu inside task_struct (THREAD_INFO_IN_TASK, 5.16+), else
//         task_struct.cpu.
//   VSZ   mm->total_vm pages; RSS as the kernel's get_mm_rss() (include/linux/mm.h): file +
//         anon + shmem counters, per-CPU percpu_counters summed over online CPUs since 6.2
//         (mm->rss_stat[]), before that mm->rss_stat.count[] plus each thread's unflushed
//         task->rss_stat.count[] (SPLIT_RSS_COUNTING), as drgn's task_rss() sums them.

import KdigBinary
import KdigKernel

/// x86-64's PAGE_SIZE (arch/x86/include/asm/page_types.h, PAGE_SHIFT 12).
let x86PageSize: UInt64 = 4096

/// task_struct.flags' PF_KTHREAD (include/linux/sched.h): crash brackets these in `ps`.
let pfKthread: UInt32 = 0x0020_0000

/// Offsets for TaskDetails; nil where the kernel has no such member.
struct TaskDetailLayout {
  var state, exitState, pid, tgid, parent, cpu, flags, totalVM: Int?
  var rss: RSSLayout?

  init(_ t: TypeProvider) {
    state = (try? t.offsetof("task_struct.__state")) ?? (try? t.offsetof("task_struct.state"))
    exitState = try? t.offsetof("task_struct.exit_state")
    pid = try? t.offsetof("task_struct.pid")
    tgid = try? t.offsetof("task_struct.tgid")
    parent = try? t.offsetof("task_struct.parent")
    cpu = (try? t.offsetof("task_struct.thread_info.cpu")) ?? (try? t.offsetof("task_struct.cpu"))
    flags = try? t.offsetof("task_struct.flags")
    totalVM = try? t.offsetof("mm_struct.total_vm")
    rss = RSSLayout(t)
  }
}

/// Where a kernel keeps an mm's resident-page counters.
struct RSSLayout {
  /// MM_FILEPAGES, MM_ANONPAGES and MM_SHMEMPAGES (4.5+) indices.
  var counters: [Int]
  var storage: Storage

  enum Storage {
    /// 6.2+: struct percpu_counter rss_stat[NR_MM_COUNTERS].
    case perCPU(array: Int, stride: Int, count: Int, counters: Int)
    /// Before: atomic_long_t mm->rss_stat.count[], int task->rss_stat.count[] (when split).
    case split(mmCount: Int, mmStride: Int, taskCount: Int?, taskStride: Int)
  }

  init?(_ t: TypeProvider) {
    guard let rss = try? t.member("mm_struct.rss_stat") else { return nil }
    counters = ["MM_FILEPAGES", "MM_ANONPAGES", "MM_SHMEMPAGES"].compactMap {
      (try? t.enumValue($0)).flatMap { Int(exactly: $0) }
    }
    guard !counters.isEmpty, counters.allSatisfy({ (0..<64).contains($0) }) else { return nil }
    if case .array = rss.type.resolved {
      guard let stride = try? t.sizeof("percpu_counter"), stride > 0,
        let count = try? t.offsetof("percpu_counter.count"),
        let perCPU = try? t.offsetof("percpu_counter.counters")
      else { return nil }
      storage = .perCPU(array: rss.offset, stride: stride, count: count, counters: perCPU)
    } else {
      guard let count = try? t.member("mm_struct.rss_stat.count"), let mmStride = Self.elementSize(count) else {
        return nil
      }
      let task = try? t.member("task_struct.rss_stat.count")
      storage = .split(
        mmCount: count.offset, mmStride: mmStride, taskCount: task?.offset, taskStride: task.flatMap(Self.elementSize) ?? 4)
    }
  }

  /// The size of one element of an array member (8 for atomic_long_t, 4 for int).
  static func elementSize(_ m: MemberLocation) -> Int? {
    guard case .array(let element, _) = m.type.resolved, let size = element.byteSize, [4, 8].contains(size) else {
      return nil
    }
    return size
  }
}

extension TaskList {
  /// Fills in the crash `ps` columns of `tasks`; what cannot be read stays nil.
  func addDetails(_ tasks: inout [TaskInfo], cpus: PerCPUSet?) {
    guard let types = try? kernel.types() else { return }
    let l = TaskDetailLayout(types)
    let space = kernel.kernelSpace
    let totalRAM = totalRAMPages()
    // Threads share their mm: its RSS is summed once (before 6.2 with every thread's
    // unflushed counts). A dump with millions of processes on thousands of CPUs stops summing
    // after rssReadLimit reads (RSS `-` for the rest).
    var threadsOfMM: [UInt64: [UInt64]] = [:]
    var rssOfMM: [UInt64: UInt64?] = [:]
    var rssReadBudget = Self.rssReadLimit
    for t in tasks where t.mm.value != 0 { threadsOfMM[t.mm.value, default: []].append(t.task.value) }
    for i in tasks.indices {
      let task = tasks[i].task.value
      func u32(_ offset: Int?) -> UInt32? { offset.flatMap { try? space.integer(UInt32.self, at: task &+ UInt64($0)) } }
      if let s = u32(l.state), let e = u32(l.exitState) { tasks[i].state = TaskState(state: s, exitState: e) }
      tasks[i].tgid = u32(l.tgid).map { Int32(bitPattern: $0) }
      tasks[i].cpu = u32(l.cpu).map { Int($0) }
      tasks[i].kernelThread = u32(l.flags).map { $0 & pfKthread != 0 }
      if let off = l.parent, let parent = try? space.u64(at: task &+ UInt64(off)), let pidOff = l.pid,
        let ppid = try? space.integer(Int32.self, at: parent &+ UInt64(pidOff))
      {
        tasks[i].ppid = ppid
      }
      let mm = tasks[i].mm.value
      guard mm != 0 else {
        // No mm: a kernel thread owns no memory; an unreadable task_struct tells nothing.
        if tasks[i].kernelThread != nil { (tasks[i].vszBytes, tasks[i].rssPages, tasks[i].memPercent) = (0, 0, 0) }
        continue
      }
      if let off = l.totalVM, let pages = try? space.u64(at: mm &+ UInt64(off)) {
        tasks[i].vszBytes = pages.multipliedReportingOverflow(by: x86PageSize).partialValue
      }
      if let rss = l.rss {
        if let known = rssOfMM[mm] {
          tasks[i].rssPages = known
        } else {
          let threads = threadsOfMM[mm] ?? [task]
          // Each counter costs a read per online CPU (6.2+) or per thread (before).
          let cost = rss.counters.count * max(cpus?.online.count ?? 1, threads.count)
          if cost <= rssReadBudget {
            rssReadBudget -= cost
            tasks[i].rssPages = residentPages(mm: mm, threads: threads, rss, cpus)
          }
          rssOfMM[mm] = tasks[i].rssPages
        }
      }
      if let rss = tasks[i].rssPages, let totalRAM, totalRAM > 0 {
        tasks[i].memPercent = Double(rss) / Double(totalRAM) * 100
      }
    }
  }

  /// Counter reads `ps` spends on RSS at most: processes × 3 × online CPUs on 6.2+ (20,000
  /// processes on 256 CPUs: 15 M).
  static let rssReadLimit = 1 << 24

  /// get_mm_rss(): nil when a counter cannot be read.
  func residentPages(mm: UInt64, threads: [UInt64], _ l: RSSLayout, _ cpus: PerCPUSet?) -> UInt64? {
    let space = kernel.kernelSpace
    var total: Int64 = 0
    for c in l.counters {
      switch l.storage {
      case .perCPU(let array, let stride, let countOff, let countersOff):
        let counter = mm &+ UInt64(array) &+ UInt64(c) &* UInt64(stride)
        guard let base = try? space.integer(Int64.self, at: counter &+ UInt64(countOff)),
          let perCPU = try? space.u64(at: counter &+ UInt64(countersOff)), let cpus
        else { return nil }
        total &+= base
        for cpu in cpus.online {
          guard let offset = cpus.offsets[cpu],
            let delta = try? space.integer(Int32.self, at: perCPU &+ offset.value)
          else { return nil }
          total &+= Int64(delta)
        }
      case .split(let mmCount, let mmStride, let taskCount, let taskStride):
        guard let base = signed(at: mm &+ UInt64(mmCount) &+ UInt64(c * mmStride), size: mmStride) else { return nil }
        total &+= base
        guard let taskCount else { continue }
        for thread in threads {
          if let cached = signed(at: thread &+ UInt64(taskCount) &+ UInt64(c * taskStride), size: taskStride) {
            total &+= cached
          }
        }
      }
    }
    return UInt64(max(total, 0))
  }

  /// crash's and drgn's `ps` order: PID 0 tasks by CPU, then by PID; unknown PIDs last.
  public static func psOrder(_ tasks: [TaskInfo]) -> [TaskInfo] {
    tasks.enumerated().sorted { a, b in
      func key(_ t: TaskInfo) -> (Int64, Int) { (t.pid < 0 ? Int64.max : Int64(t.pid), t.idleOfCPU ?? t.cpu ?? 0) }
      let (ka, kb) = (key(a.element), key(b.element))
      return ka != kb ? ka < kb : a.offset < b.offset
    }.map(\.element)
  }

  func signed(at address: UInt64, size: Int) -> Int64? {
    let space = kernel.kernelSpace
    return size == 8
      ? try? space.integer(Int64.self, at: address) : (try? space.integer(Int32.self, at: address)).map(Int64.init)
  }

  /// _totalram_pages (5.0+) or totalram_pages: the denominator of crash's %MEM.
  public func totalRAMPages() -> UInt64? {
    for name in ["_totalram_pages", "totalram_pages"] {
      if let a = try? kernel.lookup(name).address, let v = try? kernel.kernelSpace.u64(at: a) { return v }
    }
    return nil
  }
}
