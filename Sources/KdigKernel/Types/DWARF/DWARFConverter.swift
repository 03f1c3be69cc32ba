// DWARF type DIEs → KernelType. Only the DIEs a type actually reaches are read: structs
// and unions behind pointers become references (their DIE offset), so converting
// `struct mm_struct` reads mm_struct and what it embeds, not the whole kernel.
// Sources: DWARF 5 §5.7 (structures, DW_AT_data_bit_offset), §5.5 (arrays/subranges),
// DWARF 4 §5.5.6 (DW_AT_bit_offset for big-endian-numbered bitfields), §5.11 (enums).

import CElfUtils
import KdigBinary

/// Converts DIEs of one `Dwarf` handle, remembering what it converted.
struct DWARFConverter {
  let file: String
  /// Converted types by `offset << 1 | shallow`.
  private(set) var memo: [UInt64: KernelType] = [:]
  private var inProgress: Set<UInt64> = []
  private var depth = 0
  /// Deepest nesting accepted (real kernel types stay far below).
  static let maxDepth = 256

  init(file: String) { self.file = file }

  /// The type `die` describes. `shallow`: structs/unions become references.
  mutating func convert(_ die: Dwarf_Die, shallow: Bool) throws -> KernelType {
    var die = die
    let offset = DIE.offset(&die)
    let key = offset << 1 | (shallow ? 1 : 0)
    if let done = memo[key] { return done }
    guard !inProgress.contains(key), depth < DWARFConverter.maxDepth else {
      throw KernelTypeError(
        file: file, "DWARF type at DIE \(hex0x(offset)) contains itself (or nests too deeply)",
        category: .malformedInput)
    }
    inProgress.insert(key)
    depth += 1
    defer {
      inProgress.remove(key)
      depth -= 1
    }
    let t = try convertDIE(&die, offset: offset, shallow: shallow)
    memo[key] = t
    return t
  }

  /// The type `DW_AT_type` of `die` refers to (`void` when absent).
  mutating func typeOf(_ die: inout Dwarf_Die, shallow: Bool) throws -> KernelType {
    guard let target = DIE.type(&die) else { return .void }
    return try convert(target, shallow: shallow)
  }

  private mutating func convertDIE(_ die: inout Dwarf_Die, offset: UInt64, shallow: Bool) throws
    -> KernelType
  {
    let tag = dwarf_tag(&die)
    switch tag {
    case DWTag.baseType:
      return .base(try baseType(&die, offset: offset))
    case DWTag.pointerType:
      return .pointer(try typeOf(&die, shallow: true))
    case DWTag.structureType, DWTag.unionType:
      let kind: AggregateKind = tag == DWTag.unionType ? .union : .structure
      let name = DIE.name(&die)
      if DIE.isDeclaration(&die) {
        return .aggregate(
          Aggregate(kind: kind, name: name, size: nil, members: nil, ref: TypeRef(offset)))
      }
      let size = DIE.unsigned(&die, DW_AT_byte_size).flatMap { Int(exactly: $0) }
      let members = shallow ? nil : try self.members(&die)
      return .aggregate(
        Aggregate(kind: kind, name: name, size: size ?? 0, members: members, ref: TypeRef(offset)))
    case DWTag.enumerationType:
      return .enumeration(try enumType(&die))
    case DWTag.arrayType:
      return try arrayType(&die, shallow: shallow)
    case DWTag.typedef:
      return .typedef(
        name: DIE.name(&die) ?? "<anonymous typedef>", target: try typeOf(&die, shallow: shallow))
    case DWTag.constType:
      return .qualified(.const, try typeOf(&die, shallow: shallow))
    case DWTag.volatileType:
      return .qualified(.volatile, try typeOf(&die, shallow: shallow))
    case DWTag.restrictType:
      return .qualified(.restrict, try typeOf(&die, shallow: shallow))
    case DWTag.atomicType:
      return try typeOf(&die, shallow: shallow)  // _Atomic: same layout
    case DWTag.subroutineType:
      return .function(try functionType(&die))
    case DWTag.unspecifiedType:
      return .void
    case DWTag.variable, DWTag.member, DWTag.formalParameter:
      return try typeOf(&die, shallow: shallow)  // an object stands for its type
    default:
      throw KernelTypeError(
        file: file,
        "DIE \(hex0x(offset)) has tag \(hex0x(UInt64(UInt32(bitPattern: tag)))),"
          + " which is not a C type", category: .malformedInput)
    }
  }

  private func baseType(_ die: inout Dwarf_Die, offset: UInt64) throws -> BaseType {
    let name = DIE.name(&die) ?? "<unnamed>"
    guard let size = DIE.unsigned(&die, DW_AT_byte_size).flatMap({ Int(exactly: $0) }) else {
      throw KernelTypeError(
        file: file, "base type '\(name)' (DIE \(hex0x(offset))) has no DW_AT_byte_size",
        category: .malformedInput)
    }
    let encoding: BaseEncoding
    switch Int(DIE.unsigned(&die, DW_AT_encoding) ?? 0) {
    case DW_ATE_boolean: encoding = .bool
    case DW_ATE_float, DW_ATE_complex_float: encoding = .float
    case DW_ATE_signed: encoding = .signed
    case DW_ATE_signed_char: encoding = .signedChar
    case DW_ATE_unsigned_char: encoding = .unsignedChar
    default: encoding = .unsigned
    }
    return BaseType(name: name, size: size, encoding: encoding)
  }

  private mutating func members(_ die: inout Dwarf_Die) throws -> [Member] {
    var out: [Member] = []
    for var child in DIE.children(&die) where dwarf_tag(&child) == DWTag.member {
      let type = try typeOf(&child, shallow: false)
      let name = DIE.name(&child)
      guard let location = DIE.memberLocation(&child), location <= UInt64(Int.max / 8) else {
        throw KernelTypeError(
          file: file,
          "member '\(name ?? "<anonymous>")' (DIE \(hex0x(DIE.offset(&child))))"
            + " has a DW_AT_data_member_location kdig cannot read", category: .malformedInput)
      }
      var bitOffset = Int(location) * 8
      var bitSize: Int?
      if let bits = DIE.unsigned(&child, DW_AT_bit_size), let width = Int(exactly: bits) {
        bitSize = width
        if let dataBit = DIE.unsigned(&child, DW_AT_data_bit_offset) {
          // DWARF 4+: bits from the start of the containing struct.
          bitOffset = Int(clamping: dataBit)
        } else if let oldBit = DIE.unsigned(&child, DW_AT_bit_offset) {
          // DWARF 2/3: counted from the most significant bit of the storage unit.
          let storage =
            DIE.unsigned(&child, DW_AT_byte_size).flatMap { Int(exactly: $0) }
            ?? type.byteSize ?? 0
          bitOffset += storage * 8 - Int(clamping: oldBit) - width
        }
      } else if let dataBit = DIE.unsigned(&child, DW_AT_data_bit_offset) {
        bitOffset = Int(clamping: dataBit)
      }
      out.append(Member(name: name, type: type, bitOffset: bitOffset, bitSize: bitSize))
    }
    return out
  }

  private mutating func enumType(_ die: inout Dwarf_Die) throws -> EnumType {
    var isSigned = false
    if let underlying = DIE.type(&die) {
      var u = underlying
      // DW_AT_type of an enum (DWARF 3+) is its underlying integer type.
      let enc = Int(DIE.unsigned(&u, DW_AT_encoding) ?? 0)
      isSigned = enc == DW_ATE_signed || enc == DW_ATE_signed_char
    }
    var values: [Enumerator] = []
    for var child in DIE.children(&die) where dwarf_tag(&child) == DWTag.enumerator {
      let value = DIE.constValue(&child, signed: isSigned) ?? 0
      if value < 0 { isSigned = true }
      values.append(Enumerator(name: DIE.name(&child) ?? "", value: value))
    }
    let size = DIE.unsigned(&die, DW_AT_byte_size).flatMap { Int(exactly: $0) } ?? 4
    return EnumType(name: DIE.name(&die), size: size, isSigned: isSigned, enumerators: values)
  }

  private mutating func arrayType(_ die: inout Dwarf_Die, shallow: Bool) throws -> KernelType {
    let element = try typeOf(&die, shallow: shallow)
    var counts: [Int?] = []
    for var child in DIE.children(&die) where dwarf_tag(&child) == DWTag.subrangeType {
      if let count = DIE.bound(&child, DW_AT_count) {
        counts.append(Int(exactly: count))
      } else if let upper = DIE.bound(&child, DW_AT_upper_bound) {
        let lower = DIE.bound(&child, DW_AT_lower_bound) ?? 0
        let (n, overflow) = upper.subtractingReportingOverflow(lower)
        counts.append(overflow || n < -1 ? nil : Int(exactly: n + 1))
      } else {
        counts.append(nil)  // `[]`: flexible array member
      }
    }
    if counts.isEmpty { counts = [nil] }
    // `int a[2][3]` is an array of 2 arrays of 3: build from the last dimension out.
    var t = element
    for count in counts.reversed() { t = .array(element: t, count: count) }
    return t
  }

  private mutating func functionType(_ die: inout Dwarf_Die) throws -> FunctionType {
    let returnType = try typeOf(&die, shallow: true)
    var params: [KernelType] = []
    var variadic = false
    for var child in DIE.children(&die) {
      let tag = dwarf_tag(&child)
      if tag == DWTag.formalParameter {
        params.append(try typeOf(&child, shallow: true))
      } else if tag == DWTag.unspecifiedParameters {
        variadic = true
      }
    }
    let prototyped = DIE.has(&die, DW_AT_prototyped)  // DW_FORM_flag_present
    return FunctionType(
      returnType: returnType, parameters: params, isVariadic: variadic, isPrototyped: prototyped)
  }
}
