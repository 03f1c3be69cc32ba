// Scalars, enums and strings in gdb's spelling: `-5`, `18446744073709551615`, `65 'A'`,
// `true`, `GREEN`, `(FA | unknown: 0x8)`, `"Linux", '\000' <repeats 59 times>`.
// Sources: gdb c-lang.c / generic_emit_char (escapes \a \b \f \n \r \t \v, octal
// otherwise), valprint.c generic_val_print_enum_1 (flag enums), generic_printstr (one
// trailing NUL dropped; runs longer than `print repeats` folded), floatformat "%.9g"
// for float and "%.17g" for double.

import KdigBinary
import KdigKernel

#if canImport(Glibc)
  import Glibc
#endif

extension ValueFormatter {
  /// A base-type value given as its (sign-extended) 64-bit pattern.
  func scalar(_ b: BaseType, _ raw: UInt64) throws -> String {
    let mask: UInt64 = b.size >= 8 ? ~0 : (1 << UInt64(b.size * 8)) - 1
    switch b.encoding {
    case .float:
      return try float(raw, size: b.size)
    case .bool:
      if options.hex { return hex0x(raw & mask) }
      return raw == 0 ? "false" : (raw == 1 ? "true" : String(raw))
    case .signedChar, .unsignedChar:
      // output-radix 16 prints a char as its number only (gdb 13: `$1 = 0x41`).
      if options.hex { return hex0x(raw & mask) }
      let number = b.encoding == .signedChar ? String(Int64(bitPattern: raw)) : String(raw)
      return "\(number) '\(escaped(UInt8(truncatingIfNeeded: raw), quote: "'"))'"
    case .signed:
      return options.hex ? hex0x(raw & mask) : String(Int64(bitPattern: raw))
    case .unsigned:
      return options.hex ? hex0x(raw & mask) : String(raw)
    }
  }

  private func float(_ raw: UInt64, size: Int) throws -> String {
    switch size {
    case 4: return cFormat("%.9g", Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw))))
    case 8: return cFormat("%.17g", Double(bitPattern: raw))
    default: throw ValueError("cannot print a \(size)-byte float", category: .unsupported)
    }
  }

  private func cFormat(_ format: String, _ value: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    _ = withVaList([value]) { args in vsnprintf(&buffer, buffer.count, format, args) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// An enum value: its name, flag names for a flag enum, else the decimal number.
  func enumValue(_ e: EnumType, _ raw: UInt64) -> String {
    let value = Int64(bitPattern: raw)
    if let match = e.enumerators.first(where: { $0.value == value }) { return match.name }
    guard isFlagEnum(e), value > 0 else { return e.isSigned ? String(value) : String(raw) }
    var names: [String] = []
    var left = raw
    for flag in e.enumerators where flag.value > 0 {
      let bits = UInt64(flag.value)
      if raw & bits == bits {
        names.append(flag.name)
        left &= ~bits
      }
    }
    if left != 0 { names.append("unknown: \(hex0x(left))") }
    return "(" + names.joined(separator: " | ") + ")"
  }

  /// gdb's flag enum: no negative values and non-zero values that share no bits.
  private func isFlagEnum(_ e: EnumType) -> Bool {
    var seen: UInt64 = 0
    for v in e.enumerators {
      guard v.value >= 0 else { return false }
      let bits = UInt64(v.value)
      if bits & seen != 0 { return false }
      seen |= bits
    }
    return true
  }

  // MARK: - Characters and strings

  /// One byte as it appears inside quotes (`quote` is escaped).
  func escaped(_ c: UInt8, quote: Character) -> String {
    switch c {
    case 0x07: return "\\a"
    case 0x08: return "\\b"
    case 0x0c: return "\\f"
    case 0x0a: return "\\n"
    case 0x0d: return "\\r"
    case 0x09: return "\\t"
    case 0x0b: return "\\v"
    case 0x5c: return "\\\\"
    case 0x20...0x7e:
      let ch = Character(Unicode.Scalar(c))
      return ch == quote ? "\\\(ch)" : String(ch)
    default:
      let octal = String(c, radix: 8)
      return "\\" + String(repeating: "0", count: 3 - octal.count) + octal
    }
  }

  /// A char array as gdb prints it: quoted runs, long runs of one character folded.
  func quotedString(_ bytes: [UInt8], dropTrailingNul: Bool) -> String {
    var chars = bytes[...]
    if dropTrailingNul, chars.last == 0 { chars = chars.dropLast() }
    if chars.isEmpty { return "\"\"" }
    var segments: [String] = []
    var open = ""  // characters of the quoted segment being built
    var consumed = 0
    var i = chars.startIndex
    while i < chars.endIndex, consumed < options.elementLimit {
      let c = chars[i]
      var run = 1
      while i + run < chars.endIndex, chars[i + run] == c { run += 1 }
      if run > options.repeatThreshold {
        if !open.isEmpty {
          segments.append("\"\(open)\"")
          open = ""
        }
        segments.append("'\(escaped(c, quote: "'"))' <repeats \(run) times>")
      } else {
        for _ in 0..<run { open += escaped(c, quote: "\"") }
      }
      consumed += run
      i += run
    }
    if !open.isEmpty { segments.append("\"\(open)\"") }
    return segments.joined(separator: ", ") + (i < chars.endIndex ? "..." : "")
  }
}
