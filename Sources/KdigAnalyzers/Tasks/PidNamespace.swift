// The tasks of the initial PID namespace, found the way crash (refresh_xarray_task_table) and
// drgn (for_each_pid) find them: init_pid_ns.idr is an xarray (include/linux/xarray.h) whose
// index is the PID number (create_pid_namespace: idr_init, base 0; alloc_pid: idr_replace at
// upid->nr) and whose entries are struct pid; pid->tasks[PIDTYPE_PID].first is the task's
// pid_links[PIDTYPE_PID] (kernel/pid.c pid_task). It reaches every task even when a filtered
// dump cut the task list, and names the PID of a task whose own page is missing.

import KdigBinary
import KdigKernel

/// One PID of init_pid_ns.
public struct NamespacePid: Sendable {
  /// The PID number (the xarray index).
  public var nr: Int32
  /// The struct pid.
  public var pid: UInt64
  /// The task whose PID it is; nil when the pid names no task or cannot be read.
  public var task: UInt64?
}

/// What a walk of init_pid_ns.idr read.
public struct PidNamespaceScan: Sendable {
  public var pids: [NamespacePid] = []
  /// Every xa_node visited, with `nodeSize` and `pidSize` (for extract, which keeps their pages).
  public var nodes: [UInt64] = []
  public var nodeSize = 0
  public var pidSize = 0
  /// Nodes or pids the dump could not give (the first few).
  public var problems: [String] = []
  /// True when the walk stopped at `maxNodes` or `maxPids`.
  public var truncated = false

  /// The PID of each task the namespace names.
  public var pidOfTask: [UInt64: Int32] {
    pids.reduce(into: [:]) { if let t = $1.task { $0[t] = $1.nr } }
  }
}

extension KernelImage {
  /// Xarray nodes and pids one walk reads at most (PID_MAX_LIMIT is 4 Mi: 65536 leaf nodes).
  static let maxPidNodes = 1 << 17
  static let maxPids = 1 << 22

  /// Walks init_pid_ns.idr in PID order; throws only when the layout or the root is unknown.
  public func scanInitPidNamespace() throws -> PidNamespaceScan {
    let t = try types()
    let space = kernelSpace
    let head = try lookup("init_pid_ns").address &+ UInt64(
      try t.offsetof("pid_namespace.idr") + t.offsetof("idr.idr_rt") + t.offsetof("xarray.xa_head"))
    let slots = try t.member("xa_node.slots")
    let slotCount = min(max((slots.size ?? 512) / 8, 1), 256)
    let shiftOffset = UInt64(try t.offsetof("xa_node.shift"))
    let pidTasks = UInt64(try t.offsetof("pid.tasks"))
    let pidLinks = UInt64(try t.offsetof("task_struct.pid_links"))
    var scan = PidNamespaceScan()
    scan.nodeSize = try t.sizeof("xa_node")
    scan.pidSize = try t.sizeof("pid")
    func problem(_ s: String) { if scan.problems.count < 8 { scan.problems.append(s) } }
    // xa_is_node: an internal entry (low bits 10) above 4096; sibling, retry and zero entries
    // are internal entries below it. A pointer entry has its low two bits clear.
    func isNode(_ e: UInt64) -> Bool { e & 3 == 2 && e > 4096 }
    var stack: [(entry: UInt64, index: UInt64)] = [(try space.u64(at: head), 0)]
    var visited: Set<UInt64> = []
    while let (entry, index) = stack.popLast() {
      if isNode(entry) {
        guard scan.nodes.count < Self.maxPidNodes else {
          scan.truncated = true
          break
        }
        let node = entry &- 2
        // An xarray is a tree: a node reached twice is damage, and walking it again is waste.
        guard visited.insert(node).inserted else {
          problem("xa_node 0x\(hex(node)) of init_pid_ns.idr is reached twice")
          continue
        }
        scan.nodes.append(node)
        // shift is a multiple of XA_CHUNK_SHIFT (6); larger than 60 cannot index 64 bits.
        guard let shift = try? space.integer(UInt8.self, at: node &+ shiftOffset), shift <= 60 else {
          problem("xa_node 0x\(hex(node)) of init_pid_ns.idr is not in the dump or has a bad shift")
          continue
        }
        for i in (0..<slotCount).reversed() {
          guard let e = try? space.u64(at: node &+ UInt64(slots.offset + 8 * i)) else {
            problem("slot \(i) of xa_node 0x\(hex(node)) is not in the dump")
            continue
          }
          if e != 0 { stack.append((e, index | UInt64(i) << UInt64(shift))) }
        }
      } else if entry & 3 == 0, entry > 4096, index < 1 << 31 {
        guard scan.pids.count < Self.maxPids else {
          scan.truncated = true
          break
        }
        var task: UInt64?
        if let first = try? space.u64(at: entry &+ pidTasks) {
          task = first == 0 ? nil : first &- pidLinks
        } else {
          problem("struct pid 0x\(hex(entry)) (PID \(index)) is not in the dump")
        }
        scan.pids.append(NamespacePid(nr: Int32(index), pid: entry, task: task))
      }
    }
    return scan
  }
}
