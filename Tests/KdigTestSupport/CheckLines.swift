// Reading `kdig check --json` output as a consumer would: JSON Lines checked against the
// schema docs/ci.md documents (every field present, of its type), and a debug-file tree
// that lets each dump's vmlinux be found by its release.

import Foundation

/// The JSON Lines of one `kdig check --json` run.
public struct CheckLines {
  public var dumps: [[String: Any]]
  public var summary: [String: Any]

  /// Parses stdout; fails unless every line is a JSON object and the last one the summary.
  public init(_ stdout: String) throws {
    var objects: [[String: Any]] = []
    for line in stdout.split(separator: "\n") {
      guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw Problem("not a JSON object: \(line)")
      }
      objects.append(o)
    }
    guard let last = objects.last, let s = last["summary"] as? [String: Any] else {
      throw Problem("no summary object last in: \(stdout)")
    }
    dumps = Array(objects.dropLast())
    summary = s
  }

  /// The report on `path`.
  public func dump(_ path: String) throws -> [String: Any] {
    guard let d = dumps.first(where: { $0["dump"] as? String == path }) else { throw Problem("no line for \(path)") }
    return d
  }

  public struct Problem: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
  }

  /// Schema violations of one report line (empty when it is valid).
  public static func schemaProblems(_ d: [String: Any]) -> [String] {
    var p: [String] = []
    let keys: Set<String> = ["schemaVersion", "dump", "status", "kernel", "crash", "sections", "findings", "error", "elapsed"]
    if Set(d.keys) != keys { p.append("keys \(d.keys.sorted()) are not \(keys.sorted())") }
    if d["schemaVersion"] as? Int != 1 { p.append("schemaVersion") }
    if !(d["dump"] is String) { p.append("dump") }
    if !["ok", "findings", "error"].contains(d["status"] as? String ?? "") { p.append("status") }
    if let k = d["kernel"] as? [String: Any] {
      if Set(k.keys) != ["release", "buildID", "vmlinux", "vmlinuxSource", "vmlinuxNotice"] { p.append("kernel keys \(k.keys.sorted())") }
      if !["given", "searched", "debuginfod"].contains(k["vmlinuxSource"] as? String ?? "given") { p.append("vmlinuxSource") }
      for v in k.values where !(v is String || v is NSNull) { p.append("kernel value \(v)") }
    } else if !(d["kernel"] is NSNull) { p.append("kernel") }
    if !(d["crash"] is NSNull || d["crash"] is [String: Any]) { p.append("crash") }
    for s in d["sections"] as? [[String: Any]] ?? [] {
      if Set(s.keys) != ["name", "status", "checks", "findingCount", "error"] { p.append("section keys \(s.keys.sorted())") }
      if !["passed", "failed", "skipped", "error"].contains(s["status"] as? String ?? "") { p.append("section status") }
      for c in s["checks"] as? [[String: Any]] ?? [] where Set(c.keys) != ["name", "status", "detail"] {
        p.append("check keys \(c.keys.sorted())")
      }
    }
    if !(d["sections"] is [[String: Any]]) { p.append("sections") }
    for f in d["findings"] as? [[String: Any]] ?? [] {
      if Set(f.keys) != ["section", "id", "severity", "message", "vector", "evidence", "accepted"] {
        p.append("finding keys \(f.keys.sorted())")
      }
      if !["info", "warning", "error"].contains(f["severity"] as? String ?? "") { p.append("severity") }
      if !(f["evidence"] is [String: String]) { p.append("evidence") }
      if !(f["vector"] is NSNull || f["vector"] is Int) { p.append("vector") }
      if !(f["accepted"] is NSNull || f["accepted"] is String) { p.append("accepted") }
    }
    if !(d["findings"] is [[String: Any]]) { p.append("findings") }
    if let e = d["error"] as? [String: Any] {
      if Set(e.keys) != ["category", "message"] { p.append("error keys") }
    } else if !(d["error"] is NSNull) { p.append("error") }
    if !(d["elapsed"] is Double || d["elapsed"] is Int) { p.append("elapsed") }
    return p
  }
}

/// A temporary root whose `usr/lib/debug/boot/vmlinux-RELEASE` links to each sample's
/// vmlinux: with KDIG_SYSROOT pointing at it, kdig finds every dump's vmlinux by release.
public final class DebugSysroot {
  public let path: String

  public init(_ samples: [Sample]) throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-sysroot-\(UUID().uuidString)").path
    let boot = path + "/usr/lib/debug/boot"
    try FileManager.default.createDirectory(atPath: boot, withIntermediateDirectories: true)
    for s in samples where !FileManager.default.fileExists(atPath: "\(boot)/vmlinux-\(s.kernel_release)") {
      try FileManager.default.createSymbolicLink(atPath: "\(boot)/vmlinux-\(s.kernel_release)", withDestinationPath: s.vmlinux)
    }
  }

  /// Where kdig finds the vmlinux of `sample`.
  public func vmlinux(of sample: Sample) -> String { "\(path)/usr/lib/debug/boot/vmlinux-\(sample.kernel_release)" }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}
