// `kdig bt` of every task against drgn 0.3.0's stack_trace() of the same task
// (Samples/oracles/bt_drgn.py, BT.md): the non-inline frames' functions and PCs, up to the
// first user-mode PC (kdig stops at the user pt_regs; drgn goes on into user space).
// At least 95% of the tasks of each sample must agree; a frame agrees when its PC is equal
// and its name is equal or an alias: kdig names the nearest ELF symbol at or below the PC, as
// the kernel's kallsyms and crash do (secondary_startup_64_no_verify, common_startup_64,
// entry_SYSCALL_64_after_hwframe), drgn the enclosing function (secondary_startup_64,
// entry_SYSCALL_64), a symbol that starts at or before kdig's. Every difference is printed.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct BacktraceDrgnTests {
  /// drgn's non-inline kernel frames of one task record: (name, pc).
  static func frames(_ t: [String: Any]) -> [(String, UInt64)]? {
    guard let frames = t["frames"] as? [[String: Any]] else { return nil }
    return frames.filter { ($0["is_inline"] as? Bool) != true }.compactMap { f in
      guard let pc = hexString(f["pc"]), pc >= 0xffff_8000_0000_0000 else { return nil }
      return ((f["symbol"] as? [String: Any])?["name"] as? String ?? hex0x(pc), pc)
    }
  }

  static func oracle(_ s: Sample) -> [String: Any]? { s.drgnOracle("bt.drgn") }

  /// kdig's `mine` and drgn's `theirs` name the same code at `pc`: equal, or drgn's symbol
  /// starts at or before kdig's (a label inside drgn's function).
  static func sameName(_ mine: String, _ theirs: String, pc: UInt64, _ kernel: KernelImage) -> Bool {
    if mine == theirs { return true }
    guard let a = try? kernel.lookup(mine).address, let b = try? kernel.lookup(theirs).address else { return false }
    return b <= a && a <= pc
  }

  // The placeholder of a missing manifest (no oracles) stays in, so that it fails.
  static let drgnOpens = Samples.forTests.filter { BacktraceDrgnTests.oracle($0) != nil || $0.oracles == nil }

  @Test(arguments: drgnOpens)
  func everyTaskEqualsDrgn(sample: Sample) throws {
    let s = try sample.require()
    let o = try #require(Self.oracle(s))
    let tasks = try #require(o["tasks"] as? [[String: Any]])
    #expect(tasks.count > 10, "\(s.name): only \(tasks.count) tasks in the oracle")
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    // drgn on the unfiltered dump of the same memory, for the tasks it cannot read here.
    let twinTasks = try s.same_memory_as.map { name in
      let twin = try Samples.named(name).require()
      return ((Self.oracle(twin)?["tasks"] as? [[String: Any]]) ?? []).reduce(into: [UInt64: [String: Any]]()) {
        if let a = hexString($1["task"]) { $0[a] = $1 }
      }
    }
    var equal = 0
    var fromTwin = 0
    var differences: [String] = []
    for t in tasks {
      guard let address = hexString(t["task"]), var theirs = Self.frames(t) else { continue }
      var pid = t["pid"] ?? "?"
      // A task_struct in a page the dump left out (6.12 -d31 dumps drop different slab pages
      // on every boot): drgn records the fault and gives no frame. kdig unwinds it from
      // thread.sp (StackMap.swift: ownStack), which drgn's run on the twin checks;
      // without a twin, kdig must fail or say what it lacked.
      let drgnFailed = theirs.isEmpty && t["error"] is String
      if drgnFailed, let twin = twinTasks?[address], let frames = Self.frames(twin) {
        (theirs, pid) = (frames, "\(twin["pid"] ?? "?") (drgn on \(s.same_memory_as ?? ""))")
        fromTwin += 1
      }
      guard let traced = try? kernel.backtraces(.task(address)) else {
        if drgnFailed { equal += 1 } else {
          differences.append("pid \(pid): kdig cannot unwind, drgn has \(theirs.count) frames")
        }
        continue
      }
      if drgnFailed, theirs.isEmpty, traced.first?.notes.isEmpty == false {
        equal += 1
        continue
      }
      let mine = traced.first?.frames.map { ($0.function, $0.ip.value) } ?? []
      if mine.map(\.1) == theirs.map(\.1)
        && zip(mine, theirs).allSatisfy({ Self.sameName($0.0, $1.0, pc: $0.1, kernel) })
      {
        equal += 1
      } else {
        differences.append("pid \(pid) \(t["comm"] ?? ""):\n  kdig \(mine.map { "\($0.0)@\(hex0x($0.1))" })\n  drgn \(theirs.map { "\($0.0)@\(hex0x($0.1))" })")
      }
    }
    if fromTwin > 0 { print("\(s.name): \(fromTwin) tasks drgn cannot read here compared with drgn on \(s.same_memory_as ?? "")") }
    let share = Double(equal) / Double(max(1, tasks.count))
    #expect(share >= 0.95, "\(s.name): \(equal)/\(tasks.count) tasks equal drgn\n\(differences.joined(separator: "\n"))")
    if !differences.isEmpty { print("\(s.name): \(equal)/\(tasks.count) equal; differences:\n\(differences.joined(separator: "\n"))") }
  }

  /// `ps` (TaskList) lists every task drgn lists, the idle tasks of every CPU included (on no
  /// list and in no PID namespace: kdig and crash find them on the runqueues), with drgn's PID;
  /// on a filtered dump that cut the task list, through init_pid_ns — and a task whose own
  /// page is missing gets the PID drgn reads on the unfiltered twin.
  @Test(arguments: drgnOpens)
  func taskListHoldsEveryTaskDrgnLists(sample: Sample) throws {
    let s = try sample.require()
    let o = try #require(Self.oracle(s))
    let tasks = try #require(o["tasks"] as? [[String: Any]])
    let twinPIDs = try s.same_memory_as.map { name in
      ((Self.oracle(try Samples.named(name).require())?["tasks"] as? [[String: Any]]) ?? [])
        .reduce(into: [UInt64: Int]()) { if let a = hexString($1["task"]), let p = $1["pid"] as? Int { $0[a] = p } }
    }
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let mine = try TaskList(kernel: kernel).all().reduce(into: [UInt64: Int32]()) { $0[$1.task.value] = $1.pid }
    var problems: [String] = []
    for t in tasks {
      guard let address = hexString(t["task"]) else { continue }
      let pid = (t["pid"] as? Int) ?? twinPIDs?[address]
      guard let found = mine[address] else {
        problems.append("\(hex0x(address)) (pid \(pid.map(String.init) ?? "?")) is not in kdig's task list")
        continue
      }
      if let pid, Int(found) != pid { problems.append("\(hex0x(address)): kdig pid \(found), drgn \(pid)") }
    }
    #expect(problems.isEmpty, "\(s.name): \(problems.count) of \(tasks.count) tasks:\n\(problems.prefix(20).joined(separator: "\n"))")
  }
}
