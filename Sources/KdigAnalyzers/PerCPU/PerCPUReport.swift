// `cea --verify`, `gdt` and `tss`: every CPU's entry state read from the dump and checked
// against how the kernel builds it (docs/percpu.md lists each check with its source).

import KdigBinary
import KdigKernel
import KdigX86

/// One CPU's cpu_entry_area, GDT and TSS.
public struct CPUEntryState: Sendable, Encodable {
  public var area: CPUEntryArea
  public var gdt: CPUGDT?
  public var tss: CPUTSS?
  /// What could not be read (the GDT or TSS page excluded from the dump).
  public var errors: [String]
}

/// The per-CPU entry state of a dump and its verification.
public struct PerCPUReport: Sendable, Encodable {
  public var cpus: [CPUEntryState]
  public var layout: CEALayout
  public var intelDebugStore: Bool
  public var pge: Bool
  public var checks: [CheckResult]
  public var findings: [Finding]
  public var summary: String
  /// A page the checks needed is not in the dump (exit 2 when nothing else failed).
  public var unreadable: [String]

  public var errors: Int { findings.filter { $0.severity == .error }.count }
}

/// Reads and verifies the entry state of the chosen CPUs.
public struct PerCPUVerifier {
  public let kernel: KernelImage

  public init(kernel: KernelImage) { self.kernel = kernel }

  /// `cpu` nil: every possible CPU.
  public func report(cpu: Int? = nil) throws -> PerCPUReport {
    let cpus = try kernel.perCPUSet()
    let layout = try kernel.ceaLayout()
    let chosen: [Int]
    if let cpu {
      guard cpus.possible.contains(cpu) else {
        throw PerCPUError("CPU \(cpu) is not a possible CPU (possible: \(cpus.possible.map(String.init).joined(separator: ",")))", .usage)
      }
      chosen = [cpu]
    } else {
      chosen = cpus.possible
    }
    let intel = isIntel()
    let pge = kernel.cpuFeature("pge")?.set ?? kernel.notes.qemuCPUs.first.map { $0.cr4 & (1 << 7) != 0 } ?? true
    var states: [CPUEntryState] = []
    var checks: [CheckResult] = []
    var findings: [Finding] = []
    var unreadable: [String] = []
    let checker = PerCPUChecks(kernel: kernel, layout: layout, pge: pge, cpus: cpus)
    for c in chosen {
      let area = try kernel.cpuEntryArea(cpu: c, layout: layout, cpus: cpus, intel: intel)
      var state = CPUEntryState(area: area, gdt: nil, tss: nil, errors: [])
      do { state.gdt = try kernel.cpuGDT(area: area, cpus: cpus) } catch { state.errors.append("\(error)") }
      do { state.tss = try kernel.cpuTSS(area: area, layout: layout, cpus: cpus) } catch { state.errors.append("\(error)") }
      unreadable += state.errors
      checker.checkArea(area, &checks, &findings)
      if let g = state.gdt { checker.checkGDT(g, area: area, &checks, &findings) }
      if let t = state.tss { checker.checkTSS(t, area: area, &checks, &findings) }
      states.append(state)
    }
    let errors = findings.filter { $0.severity == .error }.count
    let warnings = findings.filter { $0.severity == .warning }.count
    let summary =
      errors > 0
      ? "PER-CPU FINDINGS: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") on \(chosen.count) CPU\(chosen.count == 1 ? "" : "s")"
      : unreadable.isEmpty
        ? "PER-CPU OK: cpu_entry_area, GDT and TSS of \(chosen.count) CPU\(chosen.count == 1 ? "" : "s") as the kernel builds them, \(warnings) warning\(warnings == 1 ? "" : "s")"
        : "PER-CPU INCOMPLETE: \(unreadable.count) view\(unreadable.count == 1 ? "" : "s") not in the dump"
    return PerCPUReport(
      cpus: states, layout: layout, intelDebugStore: intel, pge: pge, checks: checks,
      findings: findings.sorted { $0.severity > $1.severity }, summary: summary, unreadable: unreadable)
  }

  /// boot_cpu_data.x86_vendor == X86_VENDOR_INTEL (0): percpu_setup_debug_store maps the DS.
  func isIntel() -> Bool {
    guard let t = try? kernel.types(), let v = try? t.offsetof("cpuinfo_x86.x86_vendor"),
      let boot = try? kernel.lookup("boot_cpu_data").address,
      let vendor = try? kernel.kernelSpace.integer(UInt8.self, at: boot &+ UInt64(v))
    else { return false }
    return vendor == 0
  }
}

/// The part of a report one command shows (`gdt`: GDTs and gdt.* checks; `tss`: TSSs and tss.*).
public struct PerCPUView: Sendable, Encodable {
  public var gdts: [CPUGDT]?
  public var tsss: [CPUTSS]?
  public var checks: [CheckResult]
  public var findings: [Finding]
  public var unreadable: [String]

  public init(_ r: PerCPUReport, prefix: String) {
    gdts = prefix == "gdt." ? r.cpus.compactMap(\.gdt) : nil
    tsss = prefix == "tss." ? r.cpus.compactMap(\.tss) : nil
    checks = r.checks.filter { $0.name.hasPrefix(prefix) }
    findings = r.findings.filter { $0.code.hasPrefix(prefix) }
    unreadable = r.unreadable
  }
}
