// Evaluates a `PrintExpression` to a type and bytes, reading memory only through the
// caller's closure and only what the result needs: `init_mm.pgd` reads 8 bytes,
// `init_mm.pgd->pgd` reads the pointer then 8 bytes behind it. Symbols' addresses come
// from the caller (kallsyms or the ELF symbol table), types from a `TypeProvider`.

import KdigBinary
import KdigKernel

/// A typed value ready for `ValueFormatter`.
public struct EvaluatedValue {
  public var type: KernelType
  /// The value's bytes (for a bitfield: the field's value widened to its declared type).
  public var bytes: [UInt8]
  /// Where the value lives in memory, when it is an lvalue.
  public var address: UInt64?

  public init(type: KernelType, bytes: [UInt8], address: UInt64?) {
    self.type = type
    self.bytes = bytes
    self.address = address
  }
}

/// Evaluates print expressions against kernel memory.
public struct ValueEvaluator {
  public var types: any TypeProvider
  /// The (KASLR-adjusted) address of a symbol, or nil when there is no such symbol.
  public var symbolAddress: (String) -> UInt64?
  /// Reads `count` bytes of kernel virtual memory at `address`.
  public var read: (UInt64, Int) throws -> [UInt8]
  /// Link-time address of a symbol for the debug-info lookup, when it differs from the
  /// runtime one (KASLR); defaults to `symbolAddress`.
  public var linkTimeAddress: ((String) -> UInt64?)?
  /// Largest value read in one go (a guard against printing a 1 GiB array by mistake).
  public var maxValueSize = 16 << 20

  public init(
    types: any TypeProvider, symbolAddress: @escaping (String) -> UInt64?,
    read: @escaping (UInt64, Int) throws -> [UInt8]
  ) {
    self.types = types
    self.symbolAddress = symbolAddress
    self.read = read
  }

  /// Parses and evaluates `text`.
  public func evaluate(_ text: String) throws -> EvaluatedValue {
    try evaluate(try PrintExpression(parsing: text))
  }

  /// Evaluates `expression`, reading the bytes of the result.
  public func evaluate(_ expression: PrintExpression) throws -> EvaluatedValue {
    let operand = try eval(expression)
    return try materialize(operand)
  }

  // MARK: - Operands

  /// An intermediate value: in memory (an lvalue) or already computed.
  struct Operand {
    enum Place {
      case memory(UInt64)
      case bytes([UInt8])
    }
    var type: KernelType
    var place: Place
    /// For a bitfield lvalue: bit offset from `place`'s address, and width.
    var bitfield: (offset: Int, width: Int)?
  }

  func eval(_ e: PrintExpression) throws -> Operand {
    switch e {
    case .symbol(let name):
      guard let address = symbolAddress(name) else {
        throw ValueError("no symbol \"\(name)\" in current context")
      }
      let link = linkTimeAddress?(name) ?? address
      let type = try types.variableType(name, address: link)
      return Operand(type: type, place: .memory(address))
    case .integer(let v):
      return Operand(
        type: .base(BaseType(name: "long", size: 8, encoding: .signed)),
        place: .bytes(littleEndian(v)))
    case .member(let base, let name):
      var op = try eval(base)
      if op.type.isPointer { op = try dereference(op, what: "\(base)") }  // gdb-friendly `p->m`
      return try member(op, name, of: base)
    case .arrow(let base, let name):
      return try member(try dereference(try eval(base), what: "\(base)"), name, of: base)
    case .index(let base, let i):
      return try index(try eval(base), i, of: base)
    case .addressOf(let base):
      let op = try eval(base)
      guard case .memory(let address) = op.place, op.bitfield == nil else {
        throw ValueError("cannot take the address of \(base): not an lvalue")
      }
      return Operand(type: .pointer(op.type), place: .bytes(littleEndian(address)))
    case .dereference(let base):
      let op = try eval(base)
      if case .array = op.type.resolved { return try index(op, 0, of: base) }
      return try dereference(op, what: "\(base)")
    case .cast(let typeName, let depth, let base):
      var type = try types.type(named: typeName)
      for _ in 0..<depth { type = .pointer(type) }
      let value = try integerValue(try eval(base), what: "\(base)")
      guard let size = type.byteSize, size >= 1, size <= 8 else {
        throw ValueError("can only cast to pointer and integer types, not \(type.name)")
      }
      return Operand(type: type, place: .bytes(Array(littleEndian(value).prefix(size))))
    }
  }

  private func member(_ op: Operand, _ name: String, of base: PrintExpression) throws -> Operand {
    guard case .aggregate(let a0) = op.type.resolved else {
      throw ValueError(
        "cannot look up member '\(name)' of \(base): \(op.type.name) is not a struct or union")
    }
    let a = try types.complete(a0)
    guard let m = a.member(named: name) else {
      throw ValueError("there is no member named \(name) in \(a.displayName)")
    }
    let byteOffset = m.offset
    let bitfield = m.bitSize.map { (offset: m.bitOffset - byteOffset * 8, width: $0) }
    switch op.place {
    case .memory(let address):
      return Operand(
        type: m.type, place: .memory(try offset(address, byteOffset)), bitfield: bitfield)
    case .bytes(let bytes):
      let size = m.bitSize == nil ? (m.type.byteSize ?? 0) : bytes.count - byteOffset
      guard byteOffset <= bytes.count, size <= bytes.count - byteOffset else {
        throw ValueError(
          "member \(name) lies outside the value of \(base)", category: .malformedInput)
      }
      return Operand(
        type: m.type, place: .bytes(Array(bytes[byteOffset..<(byteOffset + size)])),
        bitfield: bitfield)
    }
  }

  private func index(_ op: Operand, _ i: Int, of base: PrintExpression) throws -> Operand {
    switch op.type.resolved {
    case .array(let element, _):
      let element = try types.completed(element)
      let size = try elementSize(element, of: base)
      guard case (let delta, false) = i.multipliedReportingOverflow(by: size) else {
        throw ValueError("index \(i) of \(base) is out of range")
      }
      switch op.place {
      case .memory(let address):
        return Operand(type: element, place: .memory(try offset(address, delta)))
      case .bytes(let bytes):
        guard delta <= bytes.count, size <= bytes.count - delta else {
          throw ValueError("index \(i) is outside the value of \(base)")
        }
        return Operand(type: element, place: .bytes(Array(bytes[delta..<(delta + size)])))
      }
    case .pointer(let pointee):
      let pointee = try types.completed(pointee)
      let size = try elementSize(pointee, of: base)
      guard case (let delta, false) = i.multipliedReportingOverflow(by: size) else {
        throw ValueError("index \(i) of \(base) is out of range")
      }
      let p = try integerValue(op, what: "\(base)")
      return Operand(type: pointee, place: .memory(try offset(p, delta)))
    default:
      throw ValueError("cannot subscript \(base): \(op.type.name) is not an array or pointer")
    }
  }

  private func elementSize(_ t: KernelType, of base: PrintExpression) throws -> Int {
    guard let size = t.byteSize, size > 0 else {
      throw ValueError("cannot index \(base): \(t.name) has no size")
    }
    return size
  }

  private func dereference(_ op: Operand, what: String) throws -> Operand {
    guard case .pointer(let pointee) = op.type.resolved else {
      throw ValueError("cannot dereference \(what): \(op.type.name) is not a pointer")
    }
    if case .void = pointee.resolved {
      throw ValueError("cannot dereference \(what): it is a void pointer; cast it first")
    }
    let p = try integerValue(op, what: what)
    return Operand(type: try types.completed(pointee), place: .memory(p))
  }

  /// The operand's value as an unsigned integer (a pointer or address).
  private func integerValue(_ op: Operand, what: String) throws -> UInt64 {
    let v = try materialize(op)
    switch v.type.resolved {
    case .pointer, .base, .enumeration:
      var x: UInt64 = 0
      for (i, b) in v.bytes.prefix(8).enumerated() { x |= UInt64(b) << (8 * UInt64(i)) }
      return x
    case .array:
      guard let address = v.address else { throw ValueError("\(what) has no address") }
      return address  // an array decays to its address
    default:
      throw ValueError("\(what) is \(v.type.name), not a pointer or integer")
    }
  }

  /// Reads what an operand needs, returning its final bytes.
  func materialize(_ op: Operand) throws -> EvaluatedValue {
    switch op.place {
    case .bytes(let bytes):
      guard let field = op.bitfield else {
        return EvaluatedValue(type: op.type, bytes: bytes, address: nil)
      }
      return EvaluatedValue(type: op.type, bytes: try widen(bytes, field, op.type), address: nil)
    case .memory(let address):
      if let field = op.bitfield {
        let span = (field.offset + field.width + 7) / 8
        let raw = try read(address, span)
        return EvaluatedValue(type: op.type, bytes: try widen(raw, field, op.type), address: nil)
      }
      let size = op.type.byteSize ?? 0  // flexible arrays print as their address
      guard size <= maxValueSize else {
        throw ValueError("\(op.type.name) is \(size) bytes; kdig prints at most \(maxValueSize)")
      }
      let bytes = size == 0 ? [] : try read(address, size)
      guard bytes.count == size else {
        throw ValueError(
          "read of \(size) bytes at \(hex0x(address)) returned \(bytes.count)", category: .notInDump
        )
      }
      return EvaluatedValue(type: op.type, bytes: bytes, address: address)
    }
  }

  /// A bitfield's bits as a value of its declared type (sign-extended if signed).
  private func widen(_ bytes: [UInt8], _ field: (offset: Int, width: Int), _ type: KernelType)
    throws -> [UInt8]
  {
    let formatter = ValueFormatter()
    var v = try formatter.extractBits(bytes, bitOffset: field.offset, width: field.width)
    let size = type.byteSize ?? 8
    let signed: Bool
    switch type.resolved {
    case .base(let b): signed = b.encoding.isSigned
    case .enumeration(let e): signed = e.isSigned
    default: signed = false
    }
    if signed { v = signExtend(v, bits: field.width) }
    return Array(littleEndian(v).prefix(max(1, min(8, size))))
  }

  private func offset(_ address: UInt64, _ delta: Int) throws -> UInt64 {
    guard delta >= 0, let sum = address.adding(UInt64(delta)) else {
      throw ValueError("address \(hex0x(address)) + \(delta) is out of range")
    }
    return sum
  }
}

/// The 8 little-endian bytes of `v`.
func littleEndian(_ v: UInt64) -> [UInt8] {
  (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
}
