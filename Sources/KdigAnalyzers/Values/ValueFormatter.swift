// Formats a typed value the way crash's `p` does, which is gdb's `print` with
// `set print pretty on`: structs one member per line (2 spaces per level), arrays as
// `{1, 2, 3}` with `<repeats N times>` for runs longer than 10, char arrays as strings,
// pointers as `(pgd_t *) 0xffffffff82c22000 <init_top_pgt>` at the top level.
// Sources: gdb valprint.c (value_print_array_elements: a run is folded when it is
// *longer* than `print repeats` = 10, a folded run counts 10 toward `print elements` =
// 200), c-valprint.c, generic_printstr; checked against gdb 13 output (see the tests).
// This file never reads memory except through the optional `readMemory` closure (only for
// the text behind a `char *`); the caller supplies the bytes.

import KdigBinary
import KdigKernel

/// A value that cannot be formatted (bytes missing, a type without a layout).
public struct ValueError: KdigError {
  public var message: String
  public var category: ErrorCategory

  public init(_ message: String, category: ErrorCategory = .usage) {
    self.message = message
    self.category = category
  }

  public var description: String { message }
}

/// gdb/crash-style value printing.
public struct ValueFormatter {
  /// Printing options (gdb's `output-radix`, `print elements`, `print repeats`).
  public struct Options: Sendable {
    /// crash `p -x` (gdb `output-radix 16`): integers in hex; chars, enums, strings and
    /// pointers look the same as without it.
    public var hex = false
    /// gdb `print elements`: array elements (and string characters) shown before `...`.
    public var elementLimit = 200
    /// gdb `print repeats`: runs longer than this are folded into `<repeats N times>`.
    public var repeatThreshold = 10

    public init(hex: Bool = false, elementLimit: Int = 200, repeatThreshold: Int = 10) {
      self.hex = hex
      self.elementLimit = elementLimit
      self.repeatThreshold = repeatThreshold
    }
  }

  public var options: Options
  /// Loads struct definitions that are references (behind pointers); optional.
  public var types: (any TypeProvider)?
  /// `name` or `name+0x10` for an address, or nil (then nothing is printed after it).
  public var symbolize: ((UInt64) -> String?)?
  /// Reads memory for the string a `char *` points to; without it only the address shows.
  public var readMemory: ((UInt64, Int) throws -> [UInt8])?

  public init(
    options: Options = Options(), types: (any TypeProvider)? = nil,
    symbolize: ((UInt64) -> String?)? = nil,
    readMemory: ((UInt64, Int) throws -> [UInt8])? = nil
  ) {
    self.options = options
    self.types = types
    self.symbolize = symbolize
    self.readMemory = readMemory
  }

  /// The value of type `type` held in `bytes`, as gdb prints it after `$1 = `.
  /// `address` is where the value lives, if known (gdb prints flexible array members as
  /// their address).
  public func format(_ type: KernelType, bytes: [UInt8], address: UInt64? = nil) throws -> String {
    try value(type, bytes, at: 0, address: address, recurse: 0, topLevel: true)
  }

  /// `name = value`, as crash prints `p name`.
  public func formatAssignment(
    _ name: String, type: KernelType, bytes: [UInt8], address: UInt64? = nil
  ) throws -> String {
    "\(name) = " + (try format(type, bytes: bytes, address: address))
  }

  // MARK: - Dispatch

  func value(
    _ type: KernelType, _ bytes: [UInt8], at offset: Int, address: UInt64?, recurse: Int,
    topLevel: Bool
  ) throws -> String {
    switch type.resolved {
    case .base(let b) where b.size == 16 && b.encoding != .float:
      return try wideInteger(b, bytes, at: offset)
    case .base(let b) where b.encoding == .float && b.size != 4 && b.size != 8:
      return "<\(b.size)-byte \(b.name)>"  // x87 long double: not used by the kernel
    case .base(let b):
      return try scalar(b, rawValue(bytes, at: offset, size: b.size, signed: b.encoding.isSigned))
    case .enumeration(let e):
      return enumValue(e, try rawValue(bytes, at: offset, size: e.size, signed: e.isSigned))
    case .pointer(let pointee):
      let p = try rawValue(bytes, at: offset, size: 8, signed: false)
      return pointer(p, type: type, pointee: pointee, topLevel: topLevel)
    case .aggregate(var a):
      if a.members == nil, let types { a = try types.complete(a) }
      return try aggregate(a, bytes, at: offset, address: address, recurse: recurse)
    case .array(let element, let count):
      return try array(
        element, count: count, bytes, at: offset, address: address, recurse: recurse)
    case .void:
      throw ValueError("cannot print a value of type void")
    case .function:
      throw ValueError("cannot print a function's code as a value (take its address with &)")
    case .typedef, .qualified:
      throw ValueError("unresolved type")  // `resolved` never returns these
    }
  }

  /// The `size`-byte little-endian integer at `offset`, sign-extended to 64 bits if
  /// `signed` (returned as its bit pattern).
  func rawValue(_ bytes: [UInt8], at offset: Int, size: Int, signed: Bool) throws -> UInt64 {
    guard size >= 1, size <= 8 else {
      throw ValueError("cannot print a \(size)-byte integer", category: .unsupported)
    }
    guard offset >= 0, offset <= bytes.count, size <= bytes.count - offset else {
      throw ValueError(
        "value truncated: need \(size) bytes at offset \(offset), have \(bytes.count)",
        category: .malformedInput)
    }
    var v: UInt64 = 0
    for i in 0..<size { v |= UInt64(bytes[offset + i]) << (8 * i) }
    return signed ? signExtend(v, bits: size * 8) : v
  }

  /// `__int128` / `unsigned __int128` (kernel `s128`/`u128`).
  private func wideInteger(_ b: BaseType, _ bytes: [UInt8], at offset: Int) throws -> String {
    let lo = try rawValue(bytes, at: offset, size: 8, signed: false)
    let hi = try rawValue(bytes, at: offset + 8, size: 8, signed: false)
    let value = UInt128(hi) << 64 | UInt128(lo)
    if options.hex { return "0x" + String(value, radix: 16) }
    return b.encoding.isSigned ? String(Int128(bitPattern: value)) : String(value)
  }

  // MARK: - Structs and unions

  private func aggregate(
    _ a: Aggregate, _ bytes: [UInt8], at offset: Int, address: UInt64?, recurse: Int
  ) throws -> String {
    guard let members = a.members else { return "<incomplete type>" }
    if members.isEmpty { return "{<No data fields>}" }
    let indent = String(repeating: " ", count: 2 + 2 * recurse)
    var lines: [String] = []
    for m in members {
      let text: String
      if let width = m.bitSize {
        text = try bitfield(m, width: width, bytes, structOffset: offset)
      } else {
        let memberAddress = address.flatMap { $0.adding(UInt64(m.offset)) }
        text = try value(
          m.type, bytes, at: offset + m.offset, address: memberAddress, recurse: recurse + 1,
          topLevel: false)
      }
      lines.append(indent + (m.name.map { "\($0) = " } ?? "") + text)
    }
    return "{\n" + lines.joined(separator: ",\n") + "\n"
      + String(repeating: " ", count: 2 * recurse) + "}"
  }

  private func bitfield(_ m: Member, width: Int, _ bytes: [UInt8], structOffset: Int) throws
    -> String
  {
    guard width >= 1, width <= 64 else {
      throw ValueError("bitfield '\(m.name ?? "?")' is \(width) bits wide", category: .unsupported)
    }
    let raw = try extractBits(bytes, bitOffset: structOffset * 8 + m.bitOffset, width: width)
    switch m.type.resolved {
    case .base(let b):
      return try scalar(b, b.encoding.isSigned ? signExtend(raw, bits: width) : raw)
    case .enumeration(let e):
      return enumValue(e, e.isSigned ? signExtend(raw, bits: width) : raw)
    default:
      return options.hex ? hex0x(raw) : String(raw)
    }
  }

  /// `width` bits starting at absolute bit `bitOffset` (little-endian bit numbering).
  func extractBits(_ bytes: [UInt8], bitOffset: Int, width: Int) throws -> UInt64 {
    let lastBit = bitOffset + width - 1
    guard bitOffset >= 0, lastBit / 8 < bytes.count else {
      throw ValueError(
        "value truncated: bitfield at bit \(bitOffset) needs byte \(lastBit / 8), have \(bytes.count)",
        category: .malformedInput)
    }
    var v: UInt64 = 0
    for i in 0..<width {
      let bit = bitOffset + i
      v |= UInt64((bytes[bit >> 3] >> UInt8(bit & 7)) & 1) << UInt64(i)
    }
    return v
  }

  // MARK: - Arrays

  private func array(
    _ element: KernelType, count: Int?, _ bytes: [UInt8], at offset: Int, address: UInt64?,
    recurse: Int
  ) throws -> String {
    var elementType = element
    if case .aggregate(let a) = element.resolved, a.members == nil, let types {
      elementType = .aggregate(try types.complete(a))
    }
    let isText: Bool
    if case .base(let b) = elementType.resolved, b.encoding.isChar, b.size == 1 {
      isText = true
    } else {
      isText = false
    }
    guard let count, count > 0 else {
      // gdb prints a zero-length or flexible array member as its address (and, for
      // char, the string there).
      guard let address else { return "{}" }
      var text = hex0x(address)
      if let symbol = symbolize?(address) { text += " <\(symbol)>" }
      return isText ? text + " " + cString(at: address) : text
    }
    guard let size = elementType.byteSize, size > 0 else {
      throw ValueError("array element type \(element.name) has no size", category: .unsupported)
    }
    let (total, overflow) = size.multipliedReportingOverflow(by: count)
    guard !overflow, offset >= 0, offset <= bytes.count, total <= bytes.count - offset else {
      throw ValueError(
        "value truncated: \(element.name) [\(count)] needs \(count) × \(size) bytes at offset"
          + " \(offset), have \(bytes.count)", category: .malformedInput)
    }
    if isText {
      return quotedString(Array(bytes[offset..<(offset + total)]), dropTrailingNul: true)
    }
    var parts: [String] = []
    var printed = 0
    var i = 0
    while i < count, printed < options.elementLimit {
      let start = offset + i * size
      var reps = 1
      while i + reps < count,
        bytes[start..<(start + size)] == bytes[(start + reps * size)..<(start + (reps + 1) * size)]
      {
        reps += 1
      }
      let elementAddress = address.flatMap { $0.adding(UInt64(i * size)) }
      let text = try value(
        elementType, bytes, at: start, address: elementAddress, recurse: recurse + 1,
        topLevel: false)
      if reps > options.repeatThreshold {
        parts.append("\(text) <repeats \(reps) times>")
        i += reps
        printed += options.repeatThreshold
      } else {
        parts.append(text)
        i += 1
        printed += 1
      }
    }
    return "{" + parts.joined(separator: ", ") + (i < count ? "..." : "") + "}"
  }

  // MARK: - Pointers

  private func pointer(_ p: UInt64, type: KernelType, pointee: KernelType, topLevel: Bool)
    -> String
  {
    var text = hex0x(p)
    // gdb asks for a symbol even at 0 (the kernel has per-cpu symbols there).
    if let symbol = symbolize?(p) { text += " <\(symbol)>" }
    if case .base(let b) = pointee.resolved, b.encoding.isChar, b.size == 1 {
      // gdb: `char *` shows the string and never the `(char *)` prefix.
      if readMemory != nil, p != 0 { text += " " + cString(at: p) }
      return text
    }
    return topLevel ? "(\(type.name)) \(text)" : text
  }

  /// The quoted NUL-terminated string at `address`, read in page-bounded pieces, or
  /// gdb's `<error: Cannot access memory at address 0x…>`.
  private func cString(at address: UInt64) -> String {
    guard let readMemory else { return "" }
    var bytes: [UInt8] = []
    var next = address
    while bytes.count < options.elementLimit {
      let toPageEnd = Int(4096 - (next & 4095))
      let want = min(toPageEnd, options.elementLimit - bytes.count)
      guard let chunk = try? readMemory(next, want), !chunk.isEmpty else {
        if bytes.isEmpty { return "<error: Cannot access memory at address \(hex0x(next))>" }
        break
      }
      if let nul = chunk.firstIndex(of: 0) {
        bytes += chunk[..<nul]
        return quotedString(bytes, dropTrailingNul: false)
      }
      bytes += chunk
      guard let advanced = next.adding(UInt64(chunk.count)) else { break }
      next = advanced
    }
    return quotedString(bytes, dropTrailingNul: false) + "..."
  }
}

/// `v` (holding a `bits`-bit two's-complement number) sign-extended to 64 bits.
func signExtend(_ v: UInt64, bits: Int) -> UInt64 {
  guard bits > 0, bits < 64 else { return v }
  let shift = UInt64(64 - bits)
  return UInt64(bitPattern: Int64(bitPattern: v << shift) >> shift)
}
