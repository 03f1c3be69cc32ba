// Whether the dump can be trusted for the other checks: its format, its incomplete flag, and
// whether every page the analyzers read is in it (makedumpfile -d can drop the IDT page on
// 6.6+, makedumpfile#21; an incomplete dump misses the pages never written).

import KdigBinary
import KdigDump
import KdigKernel
import KdigMemory
import KdigTranslation

/// The `dump` section of `kdig check`.
public struct DumpIntegrityCheck: DumpCheck {
  public let name = "dump"
  /// The checks whose pages are probed.
  let covering: [any DumpCheck]

  public init(covering: [any DumpCheck]) {
    self.covering = covering
  }

  public func run(kernel: KernelImage) throws -> CheckSection {
    var checks: [CheckResult] = []
    var findings: [Finding] = []
    let s = kernel.dumpSummary
    checks.append(CheckResult("format", "passed", Self.describe(s)))
    if s.incomplete {
      checks.append(CheckResult("complete", "failed", "the dump is marked incomplete"))
      findings.append(
        Finding(
          .error, "dump.incomplete",
          "the dump is marked incomplete (the dump writer ran out of space or was interrupted): pages never written are missing",
          evidence: ["format": s.format.rawValue]))
    } else {
      checks.append(CheckResult("complete", "passed", "the dump is not marked incomplete"))
    }
    checkPages(kernel, &checks, &findings)
    return CheckSection(name: name, checks: checks, findings: findings)
  }

  /// Reads every page the analyzers need; one finding per missing physical page.
  func checkPages(_ kernel: KernelImage, _ checks: inout [CheckResult], _ findings: inout [Finding]) {
    var needed: [(check: String, page: NeededPage)] = []
    for check in covering {
      needed += check.pagesNeeded(kernel: kernel).map { (check.name, $0) }
    }
    // Pages that share a frame (idt_table and its alias) are one missing page, not two.
    var missing: [UInt64: (error: MemoryError, users: [String], address: UInt64)] = [:]
    for (check, page) in needed {
      guard let error = Self.probe(page.address, kernel) else { continue }
      let frame = error.address / UInt64(max(kernel.memory.pageSize, 1))
      let user = "\(check): \(page.what)"
      if missing[frame] == nil { missing[frame] = (error, [], page.address) }
      missing[frame]?.users.append(user)
    }
    let users = needed.map { "\($0.check): \($0.page.what)" }.joined(separator: ", ")
    if missing.isEmpty {
      checks.append(CheckResult("pages", "passed", "the \(needed.count) pages the checks read are in the dump (\(users))"))
      return
    }
    checks.append(CheckResult("pages", "failed", "\(missing.count) page(s) the checks read are not in the dump"))
    for (_, m) in missing.sorted(by: { $0.key < $1.key }) {
      let excluded = m.error.reason == .excluded
      findings.append(
        Finding(
          .error, excluded ? "dump.page-excluded" : "dump.page-unreadable",
          "the page of \(m.users.joined(separator: " and ")) is not in the dump, so that check is incomplete: \(m.error)",
          evidence: [
            "address": hex0x(m.address), "physical": hex0x(m.error.address),
            "neededBy": m.users.joined(separator: "; "), "reason": "\(m.error)",
          ]))
    }
  }

  /// Why the page at `address` cannot be read from the dump; nil when it can, or when it is
  /// not mapped at all (the check that needs it reports that itself).
  static func probe(_ address: UInt64, _ kernel: KernelImage) -> MemoryError? {
    let pageSize = max(kernel.memory.pageSize, 1)
    do {
      let t = try kernel.kernelSpace.walk(address)
      let start = t.physicalAddress - t.physicalAddress % UInt64(pageSize)
      _ = try kernel.memory.bytes(at: start, count: pageSize)
      return nil
    } catch let e as TranslationError {
      if case .tableUnreadable(let m) = e.reason { return m }
      return nil
    } catch let e as MemoryError {
      return e
    } catch {
      return nil
    }
  }

  /// "elf-qemu (QEMU dump-guest-memory), uncompressed, dump level 31".
  static func describe(_ s: DumpSummary) -> String {
    var parts = ["\(s.format.rawValue) (\(s.producer))"]
    if s.flattened { parts.append("flattened") }
    parts.append(s.compression == "none" ? "uncompressed" : s.compression)
    if let level = s.dumpLevel { parts.append("dump level \(level)") }
    return parts.joined(separator: ", ")
  }
}
