// Hex formatting shared by every renderer and error message.

/// Lower-case hex without a prefix, as crash prints addresses.
@inlinable public func hex(_ value: UInt64) -> String { String(value, radix: 16) }

/// `0x`-prefixed lower-case hex, as JSON output and errors carry addresses.
@inlinable public func hex0x(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Zero-padded lower-case hex of exactly `width` digits (more if the value needs them).
public func hexPadded(_ value: UInt64, width: Int) -> String {
  let digits = String(value, radix: 16)
  return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

/// Parses `0x1234`, `1234` (hex when `defaultHex`), or decimal with a leading `#`-free form.
public func parseInteger(_ text: String, defaultHex: Bool) -> UInt64? {
  var s = Substring(text.trimmingWhitespace())
  if s.hasPrefix("0x") || s.hasPrefix("0X") {
    s = s.dropFirst(2)
    return UInt64(s, radix: 16)
  }
  if defaultHex { return UInt64(s, radix: 16) }
  if s.hasPrefix("-"), let v = Int64(s) { return UInt64(bitPattern: v) }
  return UInt64(s)
}

extension String {
  /// The string without leading and trailing spaces, tabs and newlines.
  public func trimmingWhitespace() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
    guard let first = firstIndex(where: { !isSpace($0) }),
      let last = lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(self[first...last])
  }
}
