// `kdig check --json`: JSON Lines, one compact object per dump as it finishes and a last
// summary object, with sorted keys and addresses as "0x…" strings like every kdig JSON.

import Foundation
import KdigAnalyzers

/// Encodes `kdig check` results as JSON Lines.
public enum CheckJSONLines {
  struct SummaryLine: Encodable {
    var schemaVersion: Int
    var summary: CheckBatchSummary
  }

  /// One dump's report as one line (no trailing newline).
  public static func report(_ r: DumpCheckReport) -> String { encode(r) }

  /// `{"schemaVersion":1,"summary":{…}}`.
  public static func summary(_ s: CheckBatchSummary) -> String {
    encode(SummaryLine(schemaVersion: DumpCheckReport.currentSchemaVersion, summary: s))
  }

  /// A report line written by a checker child process, or nil when it is not one.
  public static func decodeReport(_ line: Substring) -> DumpCheckReport? {
    try? JSONDecoder().decode(DumpCheckReport.self, from: Data(line.utf8))
  }

  static func encode<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
  }
}
