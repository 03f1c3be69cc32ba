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
  static func oracle(_ s: Sample) -> [String: Any]? {
    guard let path = s.oracles?["bt.drgn"], let data = FileManager.default.contents(atPath: path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], obj["open_error"] is NSNull
    else { return nil }
    return obj
  }

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
    var equal = 0
    var differences: [String] = []
    for t in tasks {
      guard let address = hexString(t["task"]), let frames = t["frames"] as? [[String: Any]] else { continue }
      let theirs: [(String, UInt64)] = frames.filter { ($0["is_inline"] as? Bool) != true }
        .compactMap { f in
          guard let pc = hexString(f["pc"]), pc >= 0xffff_8000_0000_0000 else { return nil }
          let name = (f["symbol"] as? [String: Any])?["name"] as? String ?? hex0x(pc)
          return (name, pc)
        }
      // A task_struct in a page the dump left out (6.12 -d31 dumps drop different slab pages
      // on every boot): drgn records the fault; kdig must fail too, saying the page is missing.
      guard let traced = try? kernel.backtraces(.task(address)) else {
        if theirs.isEmpty, t["error"] is String { equal += 1 } else {
          differences.append("pid \(t["pid"] ?? "?"): kdig cannot unwind, drgn has \(theirs.count) frames")
        }
        continue
      }
      let mine = traced.first?.frames.map { ($0.function, $0.ip.value) } ?? []
      if mine.map(\.1) == theirs.map(\.1)
        && zip(mine, theirs).allSatisfy({ Self.sameName($0.0, $1.0, pc: $0.1, kernel) })
      {
        equal += 1
      } else {
        differences.append("pid \(t["pid"] ?? "?") \(t["comm"] ?? ""):\n  kdig \(mine.map { "\($0.0)@\(hex0x($0.1))" })\n  drgn \(theirs.map { "\($0.0)@\(hex0x($0.1))" })")
      }
    }
    let share = Double(equal) / Double(max(1, tasks.count))
    #expect(share >= 0.95, "\(s.name): \(equal)/\(tasks.count) tasks equal drgn\n\(differences.joined(separator: "\n"))")
    if !differences.isEmpty { print("\(s.name): \(equal)/\(tasks.count) equal; differences:\n\(differences.joined(separator: "\n"))") }
  }
}
