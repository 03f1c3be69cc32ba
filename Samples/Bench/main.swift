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

// MARK: - kdig ps vs drgn's crash-compatible ps (the same columns)

rows = [bench("kdig ps", [kdig, "ps", "--dump", dump, "--vmlinux", vmlinux], runs: runs)]
if oracles && FileManager.default.isExecutableFile(atPath: drgn) {
  rows.append(
    bench(
      "drgn crash ps", [drgn, "-q", "-c", dump, "-s", vmlinux, "-e", "from drgn.commands import run_command\nrun_command(prog, 'crash ps')"],
      runs: runs))
}
printRows("ps: every task with crash's ps columns", rows)

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

// MARK: - without a vmlinux (kallsyms + BTF from the dump) vs with it

for args in [["vtop", "0xfffffe0000000000"], ["idt", "--verify-ro"], ["bt"], ["log"]] {
  let shown = args.joined(separator: " ")
  let rows = [
    bench("kdig \(shown) --vmlinux", [kdig] + args + ["--dump", dump, "--vmlinux", vmlinux], runs: runs),
    bench("kdig \(shown) --no-vmlinux", [kdig] + args + ["--dump", dump, "--no-vmlinux"], runs: runs),
  ]
  printRows("no-vmlinux: \(shown)", rows)
}

// MARK: - kdig extract: the mini-dump of a 512 MiB QEMU dump and of a 1 GiB kexec capture

do {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-bench-extract-\(getpid())").path
  try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: dir) }
  for name in [sampleName, "6.12-kdump-elf"] {
    guard let s = samples.first(where: { $0["name"] as? String == name }), let file = s["file"] as? String,
      let v = s["vmlinux"] as? String
    else { continue }
    let out = dir + "/\(name).kdump"
    let row = bench("kdig extract \(name)", [kdig, "extract", "--dump", file, "--vmlinux", v, "-o", out], runs: max(3, runs / 3))
    let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
    printRows("extract: \(name) (\(String(format: "%.0f", Double((s["file_size"] as? Int) ?? 0) / 1_048_576)) MiB) → \(String(format: "%.1f", Double(size) / 1_048_576)) MiB", [row])
  }
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

// MARK: - Dump size: point queries on a 512 MiB and a 16 GiB guest, per format (issue 11)

// The benchmark-only samples (`bash Samples/make-samples.sh --bench`, bench-manifest.json): the
// same kernel and cmdline booted with -m 512 and -m 16384, each dumped as QEMU writes kdump-zlib
// (flattened), the same rearranged by makedumpfile -R, and as an ELF core. Point queries should
// cost the same on both; the last lines estimate a 1 TiB machine's dump from the index sizes.
do {
  let benchManifest = cache + "/samples/bench-manifest.json"
  let benchSamples = FileManager.default.contents(atPath: benchManifest)
    .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    .flatMap { $0["samples"] as? [[String: Any]] } ?? []
  if benchSamples.isEmpty { print("\n## dump size: no \(benchManifest) (run bash Samples/make-samples.sh --bench)") }
  func benchSample(_ format: String, mib: Int) -> (file: String, vmlinux: String)? {
    guard let s = benchSamples.first(where: { $0["format"] as? String == format && $0["memory_mib"] as? Int == mib }),
      let f = s["file"] as? String, let v = s["vmlinux"] as? String
    else { return nil }
    return (f, v)
  }
  let queries: [(String, [String])] = [
    ("vtop 0xfffffe0000000000", ["vtop", "0xfffffe0000000000"]), ("idt --verify-ro", ["idt", "--verify-ro"]),
    ("info", ["info"]),
  ]
  if !benchSamples.isEmpty {
    print("\n## dump size: 512 MiB vs 16 GiB guest, same kernel; ratio = 16 GiB / 512 MiB (goal: wall <= 1.2x, RSS <= 1.3x)")
  }
  if !benchSamples.isEmpty { print("format                 command                   512 MiB wall / RSS        16 GiB wall / RSS      ratio wall / RSS") }
  for format in ["kdump-qemu-flattened", "kdump-qemu", "elf-qemu"] {
    guard let small = benchSample(format, mib: 512), let big = benchSample(format, mib: 16384) else {
      if !benchSamples.isEmpty { print("\(format): no 512 MiB / 16 GiB pair in the bench manifest") }
      continue
    }
    for (label, args) in queries {
      let a = bench(label, [kdig] + args + ["--dump", small.file, "--vmlinux", small.vmlinux], runs: runs)
      let b = bench(label, [kdig] + args + ["--dump", big.file, "--vmlinux", big.vmlinux], runs: runs)
      print(
        format.padding(toLength: 22, withPad: " ", startingAt: 0) + " " + label.padding(toLength: 24, withPad: " ", startingAt: 0)
          + String(
            format: " %7.4f s / %6.1f MiB   %7.4f s / %6.1f MiB   %5.2fx / %5.2fx%@", a.wall, a.rssMiB, b.wall, b.rssMiB,
            b.wall / max(a.wall, 1e-6), b.rssMiB / max(a.rssMiB, 0.1), a.ok && b.ok ? "" : "  (a run FAILED)"))
    }
  }

  // The flattened 16 GiB stream's record index as the code keeps it, scanned and from the cache.
  if let big = benchSample("kdump-qemu-flattened", mib: 16384), let mapped = try? MappedFile(path: big.file) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let scanned = try? FlattenedFile(file: mapped, indexCacheRoot: nil)
    let t1 = DispatchTime.now().uptimeNanoseconds
    let cached = try? FlattenedFile(file: mapped)  // the cache the kdig runs above filled
    let t2 = DispatchTime.now().uptimeNanoseconds
    if let scanned, let dump = try? openDump(path: big.file) {
      let records = Double(scanned.recordCount)
      let perRecord = Double(scanned.indexBytes) / records
      print(
        String(
          format: "\nflattened 16 GiB: %d records, index %d bytes (%.2f bytes/record); scan %.1f ms, cached index %.1f ms%@",
          scanned.recordCount, scanned.indexBytes, perRecord, Double(t1 - t0) / 1e6, Double(t2 - t1) / 1e6,
          cached?.indexWasCached == true ? "" : " (not cached)"))
      // 1 TiB = 2^28 pfns. Bitmaps: two of one bit per pfn; descriptor prefix sums: 8 bytes per
      // 4096 pfns. Flattened index: (a) this idle guest scaled by 64 (records grow with the
      // descriptor table, 24 bytes per pfn, in QEMU's 16 KiB records); (b) every page dumped
      // and incompressible: 4 pages per 16 KiB data record, one piece per 32-record chunk plus
      // one for each descriptor record (the data lane's piece continues past it).
      let pfns = Double(1 << 28)
      let bitmaps = 2 * pfns / 8
      let prefixSums = pfns / 4096 * 8
      let descriptorRecords = pfns * 24 / 16384
      let idleIndex = Double(scanned.indexBytes) * 64
      let denseRecords = pfns / 4 + descriptorRecords
      let denseIndex = (denseRecords / 32 + descriptorRecords) * 24
      let bigRSS = bench("info", [kdig, "info", "--dump", big.file, "--vmlinux", big.vmlinux], runs: 3).rssMiB
      let maxPFN = Double(dump.summary.maxPFN ?? 0)
      let baseline = bigRSS - (2 * maxPFN / 8 + Double(scanned.indexBytes)) / 1_048_576
      let mib = { (x: Double) in x / 1_048_576 }
      print(
        String(
          format: "1 TiB estimate: bitmaps %.0f MiB + prefix sums %.1f MiB + flattened index %.1f MiB (idle guest) "
            + "or %.1f MiB (every page dumped, %.0f M records) + the rest of a 16 GiB run %.0f MiB = %.0f MiB at most",
          mib(bitmaps), mib(prefixSums), mib(idleIndex), mib(denseIndex), denseRecords / 1e6, baseline,
          mib(bitmaps + prefixSums + max(idleIndex, denseIndex)) + baseline))
    }
  }
}
