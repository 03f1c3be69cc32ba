// `kdig ps` against drgn 0.3.0 (Samples/oracles/ps_drgn.py): every task drgn lists (every
// CPU's idle task included) with drgn's PID, parent PID, task_cpu, state letter, kernel-thread
// flag, VSZ, RSS, comm and whether it is its CPU's rq->curr; and the text, row for row, as
// drgn's crash-compatible `ps` prints it (its one-letter states as crash's two letters).
// A dump drgn cannot walk (its for_each_task stops at the first page a -d31 dump left out)
// or open is compared with drgn on the unfiltered dump of the same memory (`same_memory_as`):
// every value kdig reads must be drgn's there (a value on a page the dump dropped is `-`);
// at least 90% of drgn's tasks must be listed (the others linked only through dropped pages,
// with a gap shown) and 80% read whole.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct PsDrgnTests {
  static func oracle(_ s: Sample) -> [String: Any]? { s.drgnOracle("ps.drgn") }

  /// The sample's own oracle when drgn walked every task there, else its twin's.
  static func usableOracle(_ s: Sample) -> (oracle: [String: Any], from: String)? {
    if let o = oracle(s), (o["errors"] as? [String: Any])?.isEmpty == true { return (o, s.name) }
    guard let twin = s.same_memory_as, let t = try? Samples.named(twin).require(), let o = oracle(t),
      (o["errors"] as? [String: Any])?.isEmpty == true
    else { return nil }
    return (o, twin)
  }

  // The placeholder of a missing manifest (no oracles) stays in, so that it fails.
  static let compared = Samples.forTests.filter { usableOracle($0) != nil || $0.oracles == nil }
  static let withText = Samples.forTests.filter {
    guard let o = oracle($0) else { return $0.oracles == nil }
    return o["ps_error"] is NSNull && (o["errors"] as? [String: Any])?.isEmpty == true
  }

  @Test(arguments: compared)
  func everyTaskAsDrgnReadsIt(sample: Sample) throws {
    let s = try sample.require()
    let (o, from) = try #require(Self.usableOracle(s))
    let theirs = try #require(o["tasks"] as? [[String: Any]])
    #expect(theirs.count > 10, "\(s.name): only \(theirs.count) tasks in \(from)'s oracle")
    let current = Set(((o["curr"] as? [String: Any]) ?? [:]).values.compactMap(hexString))
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let mine = try TaskList(kernel: kernel).all(withDetails: true)
    let byAddress = Dictionary(mine.map { ($0.task.value, $0) }, uniquingKeysWith: { a, _ in a })
    var problems: [String] = []
    var unlinked: [String] = []
    var compared = 0
    let filtered = from != s.name
    for t in theirs {
      guard let address = hexString(t["task"]) else { continue }
      guard let k = byAddress[address] else {
        // A filtered dump can drop every page that links a task: its neighbours on the task
        // and sibling lists and its struct pid. Only a walk of the task_struct slabs finds it.
        let missing = "\(hex0x(address)) pid \(t["pid"] ?? "?") \(t["comm"] ?? ""): not in kdig's ps"
        if filtered { unlinked.append(missing) } else { problems.append(missing) }
        continue
      }
      // A task_struct the filtered dump cut (kdig says what it lacked): present is all it can be.
      if k.pid < 0 || k.state == nil { continue }
      compared += 1
      let expected: [String: String] = [
        "pid": "\(t["pid"] ?? "nil")", "ppid": "\(t["ppid"] ?? "nil")", "cpu": "\(t["cpu"] ?? "nil")",
        "state": "\(t["state"] ?? "nil")", "kthread": "\(t["kthread"] ?? "nil")", "vsize": "\(t["vsize"] ?? "nil")",
        "rss": "\(t["rss_pages"] ?? "nil")", "comm": "\(t["comm"] ?? "nil")", "curr": "\(current.contains(address))",
      ]
      let got: [String: String] = [
        "pid": "\(k.pid)", "ppid": k.ppid.map { "\($0)" } ?? "nil", "cpu": k.cpu.map { "\($0)" } ?? "nil",
        "state": k.state?.letter ?? "nil", "kthread": k.kernelThread.map { $0 ? "1" : "0" } ?? "nil",
        "vsize": k.vszBytes.map { "\($0)" } ?? "nil", "rss": k.rssPages.map { "\($0)" } ?? "nil", "comm": k.comm,
        "curr": "\(k.activeOnCPU != nil)",
      ]
      // On a filtered dump, what sits on a dropped page (an mm_struct, a parent) is unread: `-`.
      let differ = expected.keys.sorted().filter { expected[$0] != got[$0] && !(filtered && got[$0] == "nil") }
      if !differ.isEmpty {
        problems.append("pid \(k.pid) \(k.comm): " + differ.map { "\($0) drgn \(expected[$0] ?? "") kdig \(got[$0] ?? "")" }.joined(separator: ", "))
      }
    }
    let listed = Set(theirs.compactMap { hexString($0["task"]) })
    for k in mine where !listed.contains(k.task.value) {
      problems.append("kdig lists \(hex0x(k.task.value)) pid \(k.pid) \(k.comm), drgn does not")
    }
    if !unlinked.isEmpty {
      print("\(s.name): \(unlinked.count) of drgn's \(theirs.count) tasks on \(from) are linked only through dropped pages:\n\(unlinked.joined(separator: "\n"))")
      #expect(mine.contains { $0.problem?.contains("gap in the task list") == true }, "\(s.name): tasks missing, no gap shown")
    }
    #expect(unlinked.count * 10 <= theirs.count, "\(s.name): \(unlinked.count) of \(theirs.count) tasks not found")
    #expect(compared * 10 >= theirs.count * 8, "\(s.name): only \(compared) of \(theirs.count) tasks read whole")
    #expect(problems.isEmpty, "\(s.name) against drgn on \(from):\n\(problems.prefix(20).joined(separator: "\n"))")
  }

  /// ps -k, -u, -G and selectors choose the tasks drgn's values say they should: kernel
  /// threads (task_is_kthread), user tasks, thread-group leaders (pid == tgid); PID 1, a user
  /// task's command, and '^kworker/0' against drgn's commands.
  @Test(arguments: withText)
  func filtersChooseWhatDrgnSays(sample: Sample) throws {
    let s = try sample.require()
    let o = try #require(Self.oracle(s))
    let theirs = try #require(o["tasks"] as? [[String: Any]])
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let tasks = try TaskList(kernel: kernel).all(withDetails: true)
    func chosen(_ f: TaskFilter) throws -> Set<UInt64> { Set(try f.apply(tasks).map(\.task.value)) }
    func drgn(_ keep: ([String: Any]) -> Bool) -> Set<UInt64> { Set(theirs.filter(keep).compactMap { hexString($0["task"]) }) }
    #expect(try chosen(TaskFilter(kind: .kernelThreads)) == drgn { ($0["kthread"] as? Bool) == true })
    #expect(try chosen(TaskFilter(kind: .userTasks)) == drgn { ($0["kthread"] as? Bool) == false })
    #expect(try chosen(TaskFilter(groupLeadersOnly: true)) == drgn { ($0["pid"] as? Int) == ($0["tgid"] as? Int) })
    let current = Set(((o["curr"] as? [String: Any]) ?? [:]).values.compactMap(hexString))
    // The running user task (a panic in NMI or IRQ context on an idle CPU has none: the last one).
    let users = theirs.filter { ($0["kthread"] as? Bool) == false && ($0["pid"] as? Int) != 1 }
    let user = try #require(users.first { current.contains(hexString($0["task"]) ?? 0) } ?? users.last)
    let command = try #require(user["comm"] as? String)
    let picked = try chosen(TaskFilter(selectors: ["1", command, "'^kworker/0'"]))
    #expect(picked == drgn { ($0["pid"] as? Int) == 1 || ($0["comm"] as? String) == command || (($0["comm"] as? String) ?? "").hasPrefix("kworker/0") })
    #expect(picked.count >= 3, "\(s.name): \(picked.count) tasks picked")
  }

  /// One row of a crash-shaped ps table: marker, PID, PPID, CPU, TASK, ST, %MEM, VSZ, RSS, COMM.
  static func rows(_ text: String, oneLetterStates: Bool) -> [String: [String]] {
    let crash = ["R": "RU", "S": "IN", "D": "UN", "T": "ST", "t": "TR", "X": "DE", "Z": "ZO", "P": "PA", "I": "ID"]
    var out: [String: [String]] = [:]
    for line in text.split(separator: "\n").dropFirst() {
      let marker = line.hasPrefix(">") ? ">" : " "
      var f = line.dropFirst().split(separator: " ", maxSplits: 8, omittingEmptySubsequences: true).map(String.init)
      guard f.count == 9 else { continue }
      if oneLetterStates { f[4] = crash[f[4]] ?? "unknown state \(f[4])" }
      out[f[3].lowercased()] = [marker] + f
    }
    return out
  }

  @Test(arguments: withText)
  func textEqualsDrgnCrashPs(sample: Sample) throws {
    let s = try sample.require()
    let o = try #require(Self.oracle(s))
    let theirs = Self.rows(try #require(o["ps_text"] as? String), oneLetterStates: true)
    #expect(theirs.count > 10, "\(s.name): drgn's ps printed \(theirs.count) rows")
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let tasks = TaskList.psOrder(try TaskList(kernel: kernel).all(withDetails: true))
    let text = TaskRenderer.render(tasks)
    #expect(text.hasPrefix(TaskRenderer.header))
    let mine = Self.rows(text, oneLetterStates: false)
    var problems: [String] = []
    for (task, row) in theirs where mine[task] != row {
      problems.append("drgn \(row)\nkdig \(mine[task] ?? [])")
    }
    // drgn's ps lists the online CPUs' idle tasks; crash and kdig every CPU's (panic() takes
    // the others offline): kdig's other rows must be idle tasks.
    let idle = Set(tasks.filter { $0.idleOfCPU != nil }.map { String(hexPadded($0.task.value, width: 16)) })
    for task in mine.keys where theirs[task] == nil && !idle.contains(task) {
      problems.append("kdig prints \(mine[task] ?? []), drgn's ps does not")
    }
    // kdig's rows follow crash's order: PID 0 by CPU, then by PID.
    let pids = tasks.map(\.pid).filter { $0 >= 0 }
    #expect(pids == pids.sorted(), "\(s.name): rows not in PID order")
    #expect(problems.isEmpty, "\(s.name):\n\(problems.prefix(10).joined(separator: "\n"))")
  }
}
