// kdig's benchmarks: kdig against drgn (and crash where it works) on the real samples, each
// run as its own process, measured with wait4's rusage (wall clock and peak RSS). Prints
// medians and ratios; no pass/fail thresholds (those would be flaky timed tests).
//
// usage: swift run -c release kdig-bench [--runs N] [--sample NAME] [--no-oracles]

import Foundation
import Kdig

#if canImport(Glibc)
  import Glibc
#endif

struct Measurement {
  var wall: Double
  var maxRSSKiB: Int
  var status: Int32
}

/// Runs `argv` once, returning wall time, peak RSS and exit status.
func measure(_ argv: [String]) -> Measurement {
  var pid: pid_t = 0
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  defer { posix_spawn_file_actions_destroy(&actions) }
  var cargs = argv.map { strdup($0) } + [nil]
  defer { for p in cargs { free(p) } }
  let start = DispatchTime.now().uptimeNanoseconds
  guard posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ) == 0 else {
    return Measurement(wall: 0, maxRSSKiB: 0, status: -1)
  }
  var status: Int32 = 0
  var usage = rusage()
  _ = wait4(pid, &status, 0, &usage)
  let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  return Measurement(wall: wall, maxRSSKiB: usage.ru_maxrss, status: (status >> 8) & 0xff)
}

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.isEmpty ? 0 : s[s.count / 2]
}

struct Row {
  var name: String
  var wall: Double
  var rssMiB: Double
  var ok: Bool
}

func bench(_ name: String, _ argv: [String], runs: Int) -> Row {
  _ = measure(argv)  // warm the page cache
  let ms = (0..<runs).map { _ in measure(argv) }
  return Row(
    name: name, wall: median(ms.map(\.wall)),
    rssMiB: Double(ms.map(\.maxRSSKiB).max() ?? 0) / 1024, ok: ms.allSatisfy { $0.status == 0 })
}

func printRows(_ title: String, _ rows: [Row]) {
  print("\n## \(title)")
  print("tool".padding(toLength: 44, withPad: " ", startingAt: 0) + "  median wall   peak RSS   exit")
  for r in rows {
    let wall = String(format: "%9.4f s", r.wall)
    let rss = String(format: "%7.1f MiB", r.rssMiB)
    print(r.name.padding(toLength: 44, withPad: " ", startingAt: 0) + "  \(wall)  \(rss)   \(r.ok ? "0" : "FAILED")")
  }
  if rows.count >= 2, rows[0].wall > 0 {
    for r in rows.dropFirst() {
      print(String(format: "ratio %@ / kdig: %.1fx wall, %.1fx RSS", r.name, r.wall / rows[0].wall, r.rssMiB / max(rows[0].rssMiB, 0.1)))
    }
  }
}

// MARK: - Arguments

var runs = 10
var sampleName = "6.12-qemu-elf"
var oracles = true
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
  switch a {
  case "--runs": runs = Int(args.next() ?? "") ?? runs
  case "--sample": sampleName = args.next() ?? sampleName
  case "--no-oracles": oracles = false
  default:
    print("usage: kdig-bench [--runs N] [--sample NAME] [--no-oracles]")
    exit(64)
  }
}

let env = ProcessInfo.processInfo.environment
let cache = env["KDIG_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache/kdig"
let manifestPath = cache + "/samples/manifest.json"
guard let data = FileManager.default.contents(atPath: manifestPath),
  let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
  let samples = manifest["samples"] as? [[String: Any]],
  let sample = samples.first(where: { $0["name"] as? String == sampleName }),
  let dump = sample["file"] as? String, let vmlinux = sample["vmlinux"] as? String
else {
  print("no sample \(sampleName) in \(manifestPath): run Samples/make-samples.sh")
  exit(2)
}
let kdig = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kdig").path
let drgn = cache + "/venv-drgn/bin/drgn"
print("# kdig benchmarks on \(sampleName) (\(dump)), \(runs) runs each, median wall / peak RSS")
print("kdig: \(kdig)")

// MARK: - kdig info vs drgn printing the release

var rows = [bench("kdig info", [kdig, "info", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  rows.append(
    bench(
      "drgn (print init_uts_ns.name.release)",
      [drgn, "-q", "-c", dump, "-s", vmlinux, "-e", "print(prog['init_uts_ns'].name.release)"], runs: runs))
}
printRows("info: open the dump and vmlinux, report the machine", rows)

// MARK: - kdig p vs drgn reading a typed member

rows = [bench("kdig p init_mm.pgd", [kdig, "p", "init_mm.pgd", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  rows.append(
    bench("drgn (print init_mm.pgd)", [drgn, "-q", "-c", dump, "-s", vmlinux, "-e", "print(prog['init_mm'].pgd)"], runs: runs))
}
printRows("p: a typed kernel variable", rows)

// MARK: - kdig vtop vs drgn follow_phys of the same address

rows = [bench("kdig vtop 0xfffffe0000000000", [kdig, "vtop", "0xfffffe0000000000", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  rows.append(
    bench(
      "drgn follow_phys(init_mm, 0xfffffe0000000000)",
      [drgn, "-q", "-c", dump, "-s", vmlinux, "-e",
       "from drgn.helpers.linux.mm import follow_phys; print(hex(follow_phys(prog['init_mm'].address_of_(), 0xfffffe0000000000)))"],
      runs: runs))
}
printRows("vtop: one address through the page tables", rows)

// MARK: - kdig idt --verify-ro vs drgn decoding the 256 gates (drgn has no verification)

rows = [bench("kdig idt --verify-ro", [kdig, "idt", "--verify-ro", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  rows.append(
    bench(
      "drgn gate_desc_func over idt_table",
      [drgn, "-q", "-c", dump, "-s", vmlinux, "-e",
       "from drgn.helpers.linux.irq import gate_desc_func\nfor g in prog['idt_table']: print(prog.symbol(gate_desc_func(g)).name)"],
      runs: runs))
}
printRows("idt: decode and verify the IDT", rows)

// MARK: - kdig cea --verify vs drgn reading the same per-CPU objects (drgn verifies nothing)

rows = [bench("kdig cea --verify (all CPUs)", [kdig, "cea", "--verify", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  // The same reads kdig's checks make: per CPU the CEA slot, GDT and TSS through both views,
  // and a follow_phys of every page of the area.
  let script = """
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    from drgn.helpers.linux.percpu import per_cpu, per_cpu_ptr
    from drgn.helpers.linux.mm import follow_phys
    from drgn import sizeof
    size = sizeof(prog.type('struct cpu_entry_area'))
    mm = prog['init_mm'].address_of_()
    for cpu in for_each_possible_cpu(prog):
        try: slot = per_cpu(prog['_cea_offset'], cpu).value_()
        except KeyError: slot = cpu
        cea = 0xfffffe0000001000 + slot * size
        per_cpu(prog['gdt_page'], cpu).gdt.read_(); prog.read(cea, 128)
        per_cpu(prog['cpu_tss_rw'], cpu).x86_tss.read_()
        for va in range(cea, cea + size, 4096):
            try: follow_phys(mm, va)
            except Exception: pass
    """
  rows.append(bench("drgn per-CPU GDT/TSS/CEA reads", [drgn, "-q", "-c", dump, "-s", vmlinux, "-e", script], runs: runs))
}
printRows("cea: every CPU's cpu_entry_area, GDT and TSS", rows)

// MARK: - kdig log vs drgn printing the log (get_printk_records)

rows = [bench("kdig log", [kdig, "log", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
// The same without a vmlinux (the ring's layout from VMCOREINFO, as makedumpfile reads it).
rows.append(bench("kdig log (no vmlinux)", [kdig, "log", "--dump", dump], runs: runs))
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  rows.append(
    bench(
      "drgn get_printk_records, printed",
      [drgn, "-q", "-c", dump, "-s", vmlinux, "-e",
       "from drgn.helpers.linux.printk import get_printk_records\nfor r in get_printk_records(prog): print(r.timestamp, r.text.decode(errors='replace'))"],
      runs: runs))
}
printRows("log: every record of the printk ring buffer", rows)

// MARK: - kdig bt of every task vs drgn stack_trace() of every task

rows = [
  bench("kdig bt (panicking task)", [kdig, "bt", "--dump", dump, "--vmlinux", vmlinux], runs: runs),
  bench("kdig bt --all-tasks", [kdig, "bt", "--all-tasks", "--dump", dump, "--vmlinux", vmlinux], runs: runs),
]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  let script = """
    from drgn.helpers.linux.pid import for_each_task
    for t in for_each_task(prog):
        try: str(prog.stack_trace(t))
        except Exception: pass
    """
  rows.append(bench("drgn stack_trace() of every task", [drgn, "-q", "-c", dump, "-s", vmlinux, "-e", script], runs: runs))
}
printRows("bt: every task's backtrace", rows)

// MARK: - kdig check: one dump, and every sample with 1 and 2 jobs (each finds its vmlinux)

do {
  // Samples with VMCOREINFO: their release names the vmlinux (the other needs --vmlinux).
  let all = samples.filter { $0["vmcoreinfo"] as? Bool == true }.compactMap { $0["file"] as? String }
  // Each dump's vmlinux by release, through a temporary debuginfo directory of links.
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-bench-debug-\(getpid())").path
  try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: dir) }
  for s in samples {
    guard let release = s["kernel_release"] as? String, let v = s["vmlinux"] as? String else { continue }
    try? FileManager.default.createSymbolicLink(atPath: dir + "/vmlinux-" + release, withDestinationPath: v)
  }
  let checkRuns = max(3, runs / 3)
  let rows = [
    bench("kdig check (one dump)", [kdig, "check", "--vmlinux", vmlinux, dump], runs: runs),
    bench("kdig check --jobs 1 (\(all.count) samples)", [kdig, "check", "--jobs", "1", "--debuginfo-dir", dir] + all, runs: checkRuns),
    bench("kdig check --jobs 2 (\(all.count) samples)", [kdig, "check", "--jobs", "2", "--debuginfo-dir", dir] + all, runs: checkRuns),
  ]
  printRows("check: every verification on one dump, and on every sample", rows)
}

// MARK: - Library: bulk translation and reads

do {
  let session = try Session(dumpPath: dump, vmlinuxPath: vmlinux)
  let space = session.kernel.kernelSpace
  let base = try session.kernel.lookup("_text").address
  let count = 1_000_000
  var sum: UInt64 = 0
  let start = DispatchTime.now().uptimeNanoseconds
  for i in 0..<count {
    // Addresses across the first 16 MiB of kernel text, in a scattered order.
    let va = base &+ (UInt64(i &* 2_654_435_761) & 0xff_ffff)
    sum &+= (try? space.translate(va)) ?? 0
  }
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  print("\n## library: \(count) kernel-text translations through PageTableAddressSpace")
  print(String(format: "%.3f s, %.2f M translations/s (checksum %llx)", seconds, Double(count) / seconds / 1e6, sum))
} catch {
  print("library benchmark failed: \(error)")
}
