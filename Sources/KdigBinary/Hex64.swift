// A 64-bit value that encodes to JSON as a "0x…" string: kernel addresses exceed 2^53, so
// consumers that store JSON numbers as doubles would round them.

/// A 64-bit address or raw value carried as a hex string in JSON.
public struct Hex64: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
  public var value: UInt64

  public init(_ value: UInt64) { self.value = value }

  public var description: String { hex0x(value) }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(hex0x(value))
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    let text = try c.decode(String.self)
    guard let v = parseInteger(text, defaultHex: true) else {
      throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a hex value: \(text)")
    }
    value = v
  }

  public static func < (a: Hex64, b: Hex64) -> Bool { a.value < b.value }
}
