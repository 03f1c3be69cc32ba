// `idt --verify-ro` / `--verify`: the dump's IDT against the kernel's own construction
// (IDTModel) and the mappings idt.c sets up — the read-only alias in cpu_entry_area
// (idt_map_in_cea: cea_set_pte(CPU_ENTRY_AREA_RO_IDT_VADDR, __pa_symbol(idt_table),
// PAGE_KERNEL_RO)), set_memory_ro(idt_table), load_idt(&idt_descr) on every CPU, and PTI's
// user page tables. Every check reports its evidence; nothing is assumed.

import KdigBinary
import KdigKernel
import KdigMemory
import KdigTranslation
import KdigX86

/// The result of `kdig idt --verify-ro`.
public struct IDTReport: Sendable, Encodable {
  public var gates: [IDTGateRow]
  public var idtr: [CPUIDTR]
  public var checks: [CheckResult]
  public var findings: [Finding]
  public var stubSize: Int?
  public var firstSystemVector: Int?
  public var setupTables: [String: Int]
  /// "IDT OK: …" or "IDT FINDINGS: …".
  public var summary: String
  /// The IDT page is missing from the dump (makedumpfile -d may drop it, makedumpfile#21).
  public var idtPageMissing: String?

  public var errors: Int { findings.filter { $0.severity == .error }.count }
  public var warnings: Int { findings.filter { $0.severity == .warning }.count }
}

/// Runs the IDT checks.
public struct IDTVerifier {
  public let kernel: KernelImage
  /// Run the mapping checks (--verify-ro) and not only the handler checks (--verify).
  public var checkMappings = true

  public init(kernel: KernelImage, checkMappings: Bool = true) {
    self.kernel = kernel
    self.checkMappings = checkMappings
  }

  public func verify() throws -> IDTReport {
    let model = try IDTModel(kernel: kernel)
    let views = try kernel.idtViews()
    var checks: [CheckResult] = []
    var findings: [Finding] = []
    let bytes = views.kernelBytes ?? views.aliasBytes
    var missing: String?
    if bytes == nil { missing = views.kernelError ?? views.aliasError ?? "unreadable" }
    let gates = bytes.map { decodeIDT($0, kernel: kernel, model: model) } ?? []
    if checkMappings {
      let mappings = IDTMappingChecks(kernel: kernel, views: views)
      mappings.run(&checks, &findings)
    }
    if let bytes {
      checkViews(views, bytes, &checks, &findings)
      HandlerChecks(kernel: kernel, model: model).run(bytes, &checks, &findings)
    } else {
      checks.append(CheckResult("handlers", "skipped", "\(Self.why(missing)): \(missing ?? "")"))
    }
    let errors = findings.filter { $0.severity == .error }.count
    let warnings = findings.filter { $0.severity == .warning }.count
    var summary: String
    if let missing {
      summary = "IDT UNREADABLE: \(Self.why(missing)) (\(missing)); mapping checks: \(errors) errors"
    } else if errors == 0 {
      summary = "IDT OK: \(gates.count) gates"
      if checkMappings { summary += ", read-only in CEA and kernel mapping" }
      summary += ", \(warnings) warning\(warnings == 1 ? "" : "s")"
    } else {
      summary = "IDT FINDINGS: \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
    }
    return IDTReport(
      gates: gates, idtr: views.idtr, checks: checks, findings: findings.sorted { $0.severity > $1.severity },
      stubSize: model.stubSize, firstSystemVector: model.firstSystemVector, setupTables: model.tableSizes,
      summary: summary, idtPageMissing: missing)
  }

  /// The headline for an unreadable IDT page: "excluded" only when makedumpfile filtered it;
  /// a damaged page or descriptor is not an exclusion and must not send a user after one.
  static func why(_ error: String?) -> String {
    error?.contains("excluded from this dump") == true ? "IDT page excluded from this dump" : "IDT page unreadable"
  }

  /// idt_table, the CEA alias and every CPU's IDTR must show the same 4096 bytes.
  func checkViews(_ v: IDTViews, _ bytes: [UInt8], _ checks: inout [CheckResult], _ findings: inout [Finding]) {
    if let k = v.kernelBytes, let a = v.aliasBytes {
      if k == a {
        checks.append(CheckResult("views.alias", "passed", "idt_table and the CEA alias hold the same 4096 bytes"))
      } else {
        let differ = (0..<256).filter { k[($0 * 16)..<($0 * 16 + 16)] != a[($0 * 16)..<($0 * 16 + 16)] }
        checks.append(CheckResult("views.alias", "failed", "vectors differ: \(differ.map { hex0x(UInt64($0)) })"))
        findings.append(
          Finding(
            .error, "idt.views-differ", "idt_table and the read-only alias at 0xfffffe0000000000 differ at \(differ.count) vectors",
            evidence: ["vectors": differ.map { String($0) }.joined(separator: ",")]))
      }
    }
    for (cpu, seen) in v.idtrBytes.sorted(by: { $0.key < $1.key }) where seen != bytes {
      findings.append(
        Finding(.error, "idt.idtr-view-differs", "CPU \(cpu)'s IDTR shows different bytes than idt_table"))
      checks.append(CheckResult("views.idtr.cpu\(cpu)", "failed", "bytes through the IDTR differ"))
    }
  }
}
