// Every stack the x86-64 kernel runs on, per CPU, so an address can be placed ("which stack
// is RSP on?") and an unwinder knows where it may read: task stacks (task->stack, THREAD_SIZE
// = sizeof(union thread_union)), the per-CPU IRQ stack (pcpu_hot.hardirq_stack_ptr, the top
// minus 8: irq_stack.h; size sizeof(struct irq_stack)), the IST exception stacks and the entry
// stack in the cpu_entry_area (cpu_entry_area.h), as crash's x86_64 stack bookkeeping does.
// x86-64 has no separate softirq stack: softirqs run on the IRQ stack.

import KdigBinary
import KdigKernel

/// One stack: its kind and the half-open range [base, top).
public struct KernelStack: Sendable, Encodable, Hashable {
  public enum Kind: String, Sendable, Encodable {
    case task, irq, exception, entry
  }
  public var kind: Kind
  /// "IRQ", "NMI exception", "DF exception", "entry trampoline", "task" — as crash names them.
  public var name: String
  public var cpu: Int?
  public var base: Hex64
  public var top: Hex64
  /// For task stacks, the task_struct.
  public var task: Hex64?

  public func contains(_ address: UInt64) -> Bool { address >= base.value && address < top.value }

  /// crash's separator label: "IRQ stack", "NMI exception stack", "DB exception stack"…
  public var crashLabel: String {
    switch kind {
    case .irq: "IRQ stack"
    case .exception: "\(name) exception stack"
    case .entry: "ENTRY TRAMPOLINE stack"
    case .task: "task stack"
    }
  }
}

/// The per-CPU stacks of a kernel (IRQ, exception and entry stacks), and task stacks on demand.
public struct StackMap: Sendable {
  public var cpuStacks: [KernelStack]
  /// THREAD_SIZE.
  public var threadSize: Int

  /// The stack holding `address`: a per-CPU stack, else the task stack of `task` when given.
  public func stack(containing address: UInt64, task: KernelStack? = nil) -> KernelStack? {
    if let task, task.contains(address) { return task }
    return cpuStacks.first { $0.contains(address) }
  }
}

extension KernelImage {
  /// Builds the per-CPU stack map from pcpu_hot / hardirq_stack_ptr and the cpu_entry_area.
  public func stackMap() throws -> StackMap {
    try memoized("stackMap") { try buildStackMap() }
  }

  func buildStackMap() throws -> StackMap {
    let cpus = try perCPUSet()
    let t = try types()
    let threadSize = (try? t.sizeof("union thread_union")) ?? 16384
    let irqSize = (try? t.sizeof("struct irq_stack")) ?? threadSize
    var stacks: [KernelStack] = []
    let layout = try? ceaLayout()
    for cpu in cpus.possible {
      if let ptr = hardirqStackPointer(cpu: cpu, cpus: cpus), ptr != 0 {
        // hardirq_stack_ptr = top of the IRQ stack - 8 (the first word is reserved).
        let top = ptr &+ 8
        stacks.append(KernelStack(kind: .irq, name: "IRQ", cpu: cpu, base: Hex64(top &- UInt64(irqSize)), top: Hex64(top), task: nil))
      }
      guard let layout, let area = try? cpuEntryArea(cpu: cpu, layout: layout, cpus: cpus, intel: false, walkPages: false) else { continue }
      for f in layout.fields {
        guard let s = f.exceptionStack else { continue }
        let base = area.base.value &+ UInt64(f.offset)
        stacks.append(KernelStack(kind: .exception, name: s, cpu: cpu, base: Hex64(base), top: Hex64(base &+ UInt64(f.size)), task: nil))
      }
      if let e = layout.field("entry_stack_page") {
        let base = area.base.value &+ UInt64(e.offset)
        stacks.append(KernelStack(kind: .entry, name: "entry", cpu: cpu, base: Hex64(base), top: Hex64(base &+ UInt64(layout.entryStackSize)), task: nil))
      }
    }
    return StackMap(cpuStacks: stacks, threadSize: threadSize)
  }

  /// pcpu_hot.hardirq_stack_ptr (v6.2–v6.14) or the hardirq_stack_ptr per-CPU variable.
  func hardirqStackPointer(cpu: Int, cpus: PerCPUSet) -> UInt64? {
    if let hot = try? perCPUAddress("pcpu_hot", cpu: cpu, in: cpus), let t = try? types(),
      let off = try? t.offsetof("pcpu_hot.hardirq_stack_ptr")
    {
      return try? kernelSpace.u64(at: hot &+ UInt64(off))
    }
    guard let a = try? perCPUAddress("hardirq_stack_ptr", cpu: cpu, in: cpus) else { return nil }
    return try? kernelSpace.u64(at: a)
  }

  /// The stack of a task (task_struct.stack … + THREAD_SIZE).
  public func taskStack(_ task: UInt64, threadSize: Int) -> KernelStack? {
    guard let t = try? types(), let off = try? t.offsetof("task_struct.stack"),
      let base = try? kernelSpace.u64(at: task &+ UInt64(off)), base != 0
    else { return nil }
    return KernelStack(kind: .task, name: "task", cpu: nil, base: Hex64(base), top: Hex64(base &+ UInt64(threadSize)), task: Hex64(task))
  }

  /// The task's stack (`taskStack`), or when the dump lacks task_struct.stack, the one
  /// `taskStackFromSavedSP` infers, with a note saying so.
  public func ownStack(_ task: UInt64, threadSize: Int) -> (stack: KernelStack, note: String?)? {
    if let s = taskStack(task, threadSize: threadSize) { return (s, nil) }
    guard let s = taskStackFromSavedSP(task, threadSize: threadSize) else { return nil }
    return (s, "task_struct.stack is not in the dump: the stack is the THREAD_SIZE block holding thread.sp, "
      + "\(hex(s.base.value))-\(hex(s.top.value))")
  }

  /// The stack of a task whose task_struct.stack the dump lacks (a filtered dump dropped that
  /// page) but whose thread.sp it has: a task stack is THREAD_SIZE-aligned (kernel/fork.c
  /// alloc_thread_stack_node: __vmalloc_node with THREAD_ALIGN = THREAD_SIZE, or an order
  /// THREAD_SIZE_ORDER page block), and a sleeping task's saved SP lies on it.
  /// Nil when task_struct.stack is readable (0 there means the task has no stack).
  func taskStackFromSavedSP(_ task: UInt64, threadSize: Int) -> KernelStack? {
    guard let t = try? types(), let off = try? t.offsetof("task_struct.stack"),
      (try? kernelSpace.u64(at: task &+ UInt64(off))) == nil,
      let spOff = try? t.offsetof("task_struct.thread.sp"),
      let sp = try? kernelSpace.u64(at: task &+ UInt64(spOff)),
      threadSize > 0, threadSize & (threadSize - 1) == 0
    else { return nil }
    let base = sp & ~UInt64(threadSize - 1)
    guard base & 1 << 63 != 0 else { return nil }  // a kernel stack is in the kernel half
    return KernelStack(kind: .task, name: "task", cpu: nil, base: Hex64(base), top: Hex64(base &+ UInt64(threadSize)), task: Hex64(task))
  }
}
