// What `kdig extract` keeps: the pages kdig's own commands read, found by running those
// commands' analyses (and their text and JSON renderers, which symbolize) over a
// RecordingDump. Run once with the vmlinux (when there is one) and once with symbols from
// kallsyms and types from BTF, so the extract answers the same with or without a vmlinux.

import KdigBinary

/// A group of commands whose pages an extract keeps (`--for`).
public enum ExtractPart: String, CaseIterable, Sendable, Codable {
  /// `info`, `sym`, `p` on the kernel's identity, and module types.
  case info
  /// The kernel's static data (.data, .bss) and every CPU's static per-CPU area: what `p`
  /// of a global or per-CPU variable reads, and what crash reads when it starts.
  case statics
  /// `vtop`/`ptdump` of the kernel page tables, PTI's user tables and each CPU's CR3.
  case pagetables
  /// `idt --verify-ro`.
  case idt
  /// `cea --verify`, `gdt`, `tss`, `cpu`, `regs`.
  case percpu
  /// `log`.
  case log
  /// `ps`, `bt -a`, `bt --all-tasks -e -f`: every task and its whole stack.
  case tasks
  /// `check`.
  case check
  /// What crash 8.0.2 reads to start and for sys, bt, ps, log (CrashStartupPages.swift).
  case crash

  /// Parses a `--for` list: part names and `all`.
  public static func parse(_ words: [String]) throws -> [ExtractPart] {
    var parts: [ExtractPart] = []
    for word in words.flatMap({ $0.split(separator: ",").map(String.init) }) {
      if word == "all" {
        parts += allCases
      } else if let p = ExtractPart(rawValue: word) {
        parts.append(p)
      } else {
        throw ExtractError.usage("--for: \(word) is not one of all, \(allCases.map(\.rawValue).joined(separator: ", "))")
      }
    }
    let chosen = parts.isEmpty ? allCases : parts
    return allCases.filter { $0 == .info || chosen.contains($0) }
  }
}

/// Runs the analyses of `parts` over `kernel`; errors are part of what a command shows, so
/// they are kept going past (the pages read up to them are recorded).
struct ExtractWorkload {
  let kernel: KernelImage
  let recorder: RecordingDump

  func run(_ parts: [ExtractPart]) {
    for part in parts {
      recorder.label = part.rawValue
      switch part {
      case .info: info()
      case .statics: statics()
      case .pagetables: pageTables()
      case .idt: idt()
      case .percpu: perCPU()
      case .log: log()
      case .tasks: tasks()
      case .check: check()
      case .crash: crashStartup()
      }
    }
  }

  func info() {
    let machine = MachineInfoAnalyzer(kernel: kernel).analyze()
    _ = InfoRenderer.render(machine) + JSONOutput.render(machine, command: "info")
    _ = try? kernel.symbols()
    _ = try? kernel.types()
    _ = try? ModuleList(kernel: kernel).texts()
    // Module types (`p` through a cast to a module's struct): the btf_modules list and
    // each module's BTF bytes, and the dump's own BTF they continue.
    for m in (try? kernel.moduleBTFs()) ?? [] { _ = try? kernel.bytes(of: m) }
    _ = try? kernel.types().findType(TypeQuery(parsing: "struct kdig_extract_no_such_type"))
  }

  func statics() {
    guard let symbols = try? kernel.symbols() else { return }
    func span(_ start: String, _ end: String) -> (UInt64, UInt64)? {
      guard let s = symbols.first(start), let e = symbols.first(end), e.value > s.value else { return nil }
      return (s.value, e.value)
    }
    var regions: [(UInt64, UInt64)] = []
    for (start, end) in [("_sdata", "_edata"), ("__bss_start", "__bss_stop"), ("__start_ro_after_init", "__end_ro_after_init")] {
      if let (s, e) = span(start, end) {
        regions.append((s &+ kernel.layout.kaslrOffset.value, e &+ kernel.layout.kaslrOffset.value))
      }
    }
    // Per-CPU symbols are offsets from each CPU's __per_cpu_offset.
    if let (s, e) = span("__per_cpu_start", "__per_cpu_end"), let cpus = try? kernel.perCPUSet() {
      for cpu in cpus.possible {
        if let base = cpus.offsets[cpu]?.value { regions.append((base &+ s, base &+ e)) }
      }
    }
    let page = UInt64(kernel.memory.pageSize)
    for (start, end) in regions where end > start && end - start <= Self.maxStaticRegion {
      var a = start / page * page
      while a < end {
        _ = try? kernel.kernelSpace.bytes(at: a, count: Int(page))
        a += page
      }
    }
  }

  /// Larger "static" regions are not a kernel's (hostile symbols must not make us read GBs).
  static let maxStaticRegion: UInt64 = 256 << 20

  func pageTables() {
    let dumper = PageTableDump(kernel: kernel)
    var choices: [(AddressSpaceChoice, Bool)] = [(.kernel, false), (.kernel, true)]
    for cpu in 0..<kernel.noteCPUCount { choices.append((.cpu(cpu), false)) }
    for (choice, userPGD) in choices {
      guard let space = try? kernel.resolve(choice, userPGD: userPGD) else { continue }
      let report = dumper.dump(space: space, from: 0, to: 0)
      _ = PtdumpRenderer.render(report) + JSONOutput.render(report, command: "ptdump")
      let vtop = VtopAnalyzer(kernel: kernel).translate(KernelConstants.cpuEntryAreaBase, in: space)
      _ = VtopRenderer.render([vtop]) + JSONOutput.render([vtop], command: "vtop")
    }
  }

  func idt() {
    if let report = try? IDTVerifier(kernel: kernel, checkMappings: true).verify() {
      _ = IDTRenderer.report(report) + JSONOutput.render(report, command: "idt")
    }
    if let views = try? kernel.idtViews(), let bytes = views.kernelBytes ?? views.aliasBytes {
      let rows = decodeIDT(bytes, kernel: kernel, model: try? IDTModel(kernel: kernel))
      _ = IDTRenderer.table(rows) + JSONOutput.render(rows, command: "idt")
    }
  }

  func perCPU() {
    if let report = try? PerCPUVerifier(kernel: kernel).report(cpu: nil) {
      _ = PerCPURenderer.report(report) + PerCPURenderer.gdt(report) + PerCPURenderer.tss(report)
        + JSONOutput.render(report, command: "cea")
    }
    if let states = try? kernel.cpuStates(cpu: nil) { _ = CPURenderer.text(states) + JSONOutput.render(states, command: "cpu") }
    if let regs = try? kernel.cpuRegisters(cpu: nil) { _ = RegsRenderer.cpus(regs) + JSONOutput.render(regs, command: "regs") }
  }

  func log() {
    if let log = try? KernelLogReader(kernel: kernel).read() {
      _ = LogRenderer.render(log, .init()) + JSONOutput.render(log, command: "log")
    }
    _ = try? BootTimeReader.read(kernel: kernel)
  }

  func tasks() {
    if let tasks = try? TaskList(kernel: kernel).all(withDetails: true) {
      _ = TaskRenderer.render(tasks) + JSONOutput.render(tasks, command: "ps")
    }
    for target in [BacktraceTarget.panicking, .allCPUs, .allTasks] {
      guard var traces = try? kernel.backtraces(target) else { continue }
      for i in traces.indices { kernel.addFrameWords(&traces[i]) }
      _ = BacktraceRenderer.crash(traces) + JSONOutput.render(traces, command: "bt")
      for b in traces {
        guard let stacks = try? kernel.stacks(ofTask: b.task.value, cpu: b.cpu) else { continue }
        if let found = try? kernel.searchExceptionFrames(stacks: stacks) {
          _ = BacktraceRenderer.exceptionSearch([(b, found)])
        }
        // The whole of every stack, as `rd` and `bt -f` on any frame would read it.
        for stack in stacks where stack.top.value > stack.base.value && stack.top.value - stack.base.value <= 1 << 20 {
          _ = try? kernel.kernelSpace.bytes(at: stack.base.value, count: Int(stack.top.value - stack.base.value))
        }
      }
    }
  }

  func check() {
    let report = DumpCheckRunner().report(kernel: kernel, dump: kernel.dumpPath, elapsed: { 0 })
    _ = CheckTextRenderer.line(report) + CheckTextRenderer.findings([report]) + CheckJSONLines.report(report)
  }
}
