// JSON for every command: sorted keys (stable diffs), addresses as "0x…" strings (Hex64),
// and a schema version so consumers can tell an incompatible change.

import Foundation
import KdigBinary

/// Encodes command results as JSON.
public enum JSONOutput {
  /// Bumped when a field is removed or changes meaning; additions keep the version.
  public static let schemaVersion = 1

  struct Envelope<T: Encodable>: Encodable {
    var schemaVersion: Int
    var command: String
    var result: T
  }

  struct ErrorEnvelope: Encodable {
    struct Body: Encodable {
      var category: String
      var exitCode: Int32
      var message: String
    }
    var schemaVersion: Int
    var command: String
    var error: Body
  }

  /// `{"schemaVersion":1,"command":…,"result":…}`.
  public static func render<T: Encodable>(_ value: T, command: String) -> String {
    encode(Envelope(schemaVersion: schemaVersion, command: command, result: value))
  }

  /// The JSON form of a failure, printed on stdout so scripts can parse it.
  public static func renderError(command: String, category: ErrorCategory, exitCode: Int32, message: String) -> String {
    encode(
      ErrorEnvelope(
        schemaVersion: schemaVersion, command: command,
        error: .init(category: category.rawValue, exitCode: exitCode, message: message)))
  }

  static func encode<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
  }
}
