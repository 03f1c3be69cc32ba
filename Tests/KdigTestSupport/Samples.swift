// The real sample dumps built by Samples/make-samples.sh, and the oracle outputs (drgn, crash)
// recorded beside them. Integration tests fail, never skip, when the samples are missing.

import Foundation

/// One sample dump from the manifest.
public struct Sample: Decodable, Sendable, CustomStringConvertible {
  public var name: String
  public var file: String
  public var format: String
  public var codec: String
  public var dump_level: Int?
  public var producer: String
  public var kernel_release: String
  public var vmlinux: String
  public var paging_levels: Int
  public var kaslr: Bool
  public var pti_requested: String
  public var pti_console: Bool?
  public var kernel_offset_console: String?
  public var same_memory_as: String?
  public var vmcoreinfo: Bool
  public var console_log: String?
  public var oracles: [String: String]?

  public var description: String { name }
  /// The drgn oracle output, if drgn could open this sample.
  public var drgn: DrgnOracle? { oracles?["drgn"].flatMap { DrgnOracle(path: $0) } }
  /// A drgn JSON oracle (`bt.drgn`, `idt.drgn`, …) of this sample, when drgn opened the dump.
  public func drgnOracle(_ kind: String) -> [String: Any]? {
    guard let path = oracles?[kind], let data = FileManager.default.contents(atPath: path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], obj["open_error"] is NSNull
    else { return nil }
    return obj
  }

  /// crash's raw output (6.1 samples).
  public var crashOutput: String? {
    oracles?["crash"].flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
  }
}

/// Loads the sample manifest.
public enum Samples {
  struct Manifest: Decodable {
    var version: Int
    var samples: [Sample]
  }

  /// `$KDIG_SAMPLES_MANIFEST`, else `${KDIG_CACHE:-$HOME/.cache/kdig}/samples/manifest.json`.
  public static var manifestPath: String {
    let env = ProcessInfo.processInfo.environment
    if let p = env["KDIG_SAMPLES_MANIFEST"], !p.isEmpty { return p }
    return cacheDirectory + "/samples/manifest.json"
  }

  /// The sample cache, `${KDIG_CACHE:-$HOME/.cache/kdig}` (also the test tools': Samples/test-tools.sh).
  public static var cacheDirectory: String {
    ProcessInfo.processInfo.environment["KDIG_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache/kdig")
  }

  public struct Missing: Error, CustomStringConvertible {
    public var description: String
  }

  /// All samples, or an error telling how to build them.
  public static func all() throws -> [Sample] {
    let path = manifestPath
    guard let data = FileManager.default.contents(atPath: path) else {
      throw Missing(description: "no sample manifest at \(path): run `bash Samples/make-samples.sh` first")
    }
    return try JSONDecoder().decode(Manifest.self, from: data).samples
  }

  /// Samples as a test argument list; a missing manifest yields one placeholder that fails.
  public static var forTests: [Sample] {
    (try? all()) ?? [Sample.missing]
  }

  /// The sample called `name`.
  public static func named(_ name: String) throws -> Sample {
    guard let s = try all().first(where: { $0.name == name }) else {
      throw Missing(description: "sample \(name) is not in \(manifestPath)")
    }
    return s
  }
}

extension Sample {
  /// Stands for "no manifest": every test given it fails with the reason.
  static let missing = Sample(
    name: "MISSING-SAMPLES", file: "", format: "", codec: "", dump_level: nil, producer: "",
    kernel_release: "", vmlinux: "", paging_levels: 0, kaslr: false, pti_requested: "",
    pti_console: nil, kernel_offset_console: nil, same_memory_as: nil, vmcoreinfo: false,
    console_log: nil, oracles: nil)

  /// Throws when this is the placeholder for a missing manifest.
  public func require() throws -> Sample {
    if name == Sample.missing.name { _ = try Samples.all() }
    guard FileManager.default.fileExists(atPath: file) else {
      throw Samples.Missing(description: "sample file \(file) is missing: rebuild with Samples/make-samples.sh")
    }
    return self
  }
}

/// What drgn 0.3.0 said about a sample (Samples/oracles/drgn_oracle.py).
public struct DrgnOracle {
  public let json: [String: Any]

  init?(path: String) {
    guard let data = FileManager.default.contents(atPath: path),
      let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    json = obj
  }

  /// nil when drgn could not open the dump.
  public var opened: Bool { json["open_error"] is NSNull || json["open_error"] == nil }

  /// A value recorded as "0x…" or as a JSON integer.
  public func hexValue(_ section: String, _ key: String) -> UInt64? {
    let v = (json[section] as? [String: Any])?[key]
    if let i = v as? Int { return UInt64(bitPattern: Int64(i)) }
    guard let s = v as? String, s.hasPrefix("0x") else { return nil }
    return UInt64(s.dropFirst(2), radix: 16)
  }

  public func intValue(_ section: String, _ key: String) -> Int? {
    (json[section] as? [String: Any])?[key] as? Int
  }

  public var uts: [String: String] { json["uts"] as? [String: String] ?? [:] }
  public var kaslrOffset: UInt64? { (json["kaslr_offset"] as? String).flatMap { UInt64($0.dropFirst(2), radix: 16) } }
  public var symbols: [[String: Any]] { json["symbols"] as? [[String: Any]] ?? [] }
  public var virtualReads: [[String: Any]] { json["virtual_reads"] as? [[String: Any]] ?? [] }
  public var physicalReads: [[String: Any]] { json["physical_reads"] as? [[String: Any]] ?? [] }
}

/// Parses "0x…" into a UInt64.
public func hexString(_ any: Any?) -> UInt64? {
  guard let s = any as? String, s.hasPrefix("0x") else { return nil }
  return UInt64(s.dropFirst(2), radix: 16)
}

/// Bytes from a hex string ("4c696e…").
public func bytesFromHex(_ s: String) -> [UInt8] {
  var out: [UInt8] = []
  var it = s.makeIterator()
  while let a = it.next(), let b = it.next() {
    if let v = UInt8(String([a, b]), radix: 16) { out.append(v) }
  }
  return out
}

/// drgn's page-table oracle for one sample (Samples/oracles/vtop_drgn.py).
public struct VtopOracle {
  public let json: [String: Any]

  public init?(sample: Sample) {
    guard let obj = sample.drgnOracle("vtop.drgn") else { return nil }
    json = obj
  }

  /// [address, region, physical or nil, error or nil, page size or nil].
  public var addresses: [(UInt64, String, UInt64?, String?, Int?)] {
    (json["addresses"] as? [[Any]] ?? []).compactMap { row in
      guard row.count >= 4, let a = hexString(row[0]), let region = row[1] as? String else { return nil }
      return (a, region, hexString(row[2]), row[3] as? String, row.count > 4 ? row[4] as? Int : nil)
    }
  }

  /// PTI user-PGD translations: [address, region, physical or nil, error or nil].
  public var ptiUser: (enabled: Bool, rows: [(UInt64, UInt64?, String?)]) {
    let p = json["pti_user"] as? [String: Any] ?? [:]
    let rows = (p["addresses"] as? [[Any]] ?? []).compactMap { row -> (UInt64, UInt64?, String?)? in
      guard row.count >= 4, let a = hexString(row[0]) else { return nil }
      return (a, hexString(row[2]), row[3] as? String)
    }
    return ((p["pti_enabled"] as? Bool) ?? false, rows)
  }

  /// Task translations: [pid, address, kind, pa, error, user-PGD pa, user-PGD error].
  public var tasks: [(Int, UInt64, UInt64?, String?, UInt64?)] {
    (json["task_vtop"] as? [[Any]] ?? []).compactMap { row in
      guard row.count >= 7, let pid = row[0] as? Int, let a = hexString(row[1]) else { return nil }
      return (pid, a, hexString(row[3]), row[4] as? String, hexString(row[5]))
    }
  }
}
