// Kernel types from a raw BTF blob (the vmlinux `.BTF` section, or the same bytes read
// from a dump between __start_BTF and __stop_BTF). No libelf: the blob is all it needs.
// Source: include/uapi/linux/btf.h; member offsets through anonymous members as in
// makedumpfile btf_info.c find_member_recursive. Type names are hashed once, on the first
// lookup (BTFNameIndex); enumerators and variables are found by linear scans (~0.5 ms for
// 100k types); answers are remembered.

import KdigBinary
import Synchronization

/// A `TypeProvider` over BTF.
public final class BTFTypes: TypeProvider, @unchecked Sendable {
  // @unchecked: `layout` is immutable after init; `state` is only touched under `lock`.
  public let source: String
  let layout: BTFLayout
  /// Or'ed into every TypeRef this BTF hands out, so a provider layering several BTFs
  /// (ModuleTypes) knows whose reference it holds; 0 for a BTF on its own.
  let refTag: UInt64
  private let lock = Mutex(())
  private var state = BTFConversionState()

  /// Parses the header and numbers the types of `bytes`; `source` names the blob in errors
  /// (defaults to the view's file name).
  public init(bytes: ByteView, source: String? = nil, refTag: UInt64 = 0) throws(BinaryError) {
    self.source = source ?? bytes.file
    self.refTag = refTag
    layout = try BTFLayout(bytes)
  }

  /// With the record offsets and name index computed before from the same bytes (each
  /// checked for shape, and recomputed when it does not fit).
  init(bytes: ByteView, source: String, known: (offsets: [UInt32], names: [UInt32])) throws(BinaryError) {
    self.source = source
    refTag = 0
    layout = try BTFLayout(bytes, knownOffsets: known.offsets)
    state.names = BTFNameIndex(slots: known.names, typeCount: layout.typeCount)
  }

  /// The record offsets and the name index (built now if no lookup built it yet), to keep.
  var derivedIndex: (offsets: [UInt32], names: [UInt32]) {
    lock.withLock { _ in
      if state.names == nil { state.names = BTFNameIndex(layout) }
      return (layout.recordOffsets, state.names?.slots ?? [])
    }
  }

  /// Number of types (the highest type id).
  public var typeCount: Int { layout.typeCount }

  public func findType(_ query: TypeQuery) throws -> KernelType? {
    try lock.withLock { _ throws -> KernelType? in
      guard let id = try lookupID(query) else { return nil }
      return try convert(id, shallow: false)
    }
  }

  public func findVariableType(_ name: String, address: UInt64?) throws -> KernelType? {
    // vmlinux BTF only has VARs for per-cpu variables (dump-formats.md §5.2); `address`
    // cannot be checked against anything here.
    try lock.withLock { _ throws -> KernelType? in
      let wanted = Array(name.utf8)
      for offset in layout.recordOffsets {
        let r = try BTFLayout.readRecord(layout.types, at: Int(offset))
        if r.kind == .variable, layout.stringEquals(r.nameOffset, wanted) {
          return try convert(r.sizeOrType, shallow: false, from: r.offset + 8)
        }
      }
      return nil
    }
  }

  public func findEnumerator(_ name: String) throws -> (type: EnumType, enumerator: Enumerator)? {
    try lock.withLock { _ throws -> (type: EnumType, enumerator: Enumerator)? in
      let wanted = Array(name.utf8)
      for (index, offset) in layout.recordOffsets.enumerated() {
        let r = try BTFLayout.readRecord(layout.types, at: Int(offset))
        guard r.kind == .enumeration || r.kind == .enum64 else { continue }
        let stride = r.kind == .enumeration ? 8 : 12
        for i in 0..<r.vlen {
          let nameOff = try layout.types.u32(r.dataOffset + i * stride, "btf_enum.name_off")
          guard layout.stringEquals(nameOff, wanted) else { continue }
          guard case .enumeration(let e) = try convert(UInt32(index + 1), shallow: false),
            let found = e.enumerator(named: name)
          else { return nil }
          return (e, found)
        }
      }
      return nil
    }
  }

  public func complete(_ aggregate: Aggregate) throws -> Aggregate {
    if aggregate.members != nil { return aggregate }
    return try lock.withLock { _ throws -> Aggregate in
      if let ref = aggregate.ref, ref.raw & ~0xffff_ffff == refTag, let id = UInt32(exactly: ref.raw & 0xffff_ffff) {
        let r = try layout.record(id)
        if r.kind == .structure || r.kind == .union,
          case .aggregate(let full) = try convert(id, shallow: false)
        {
          return full
        }
      }
      let ns: TypeQuery.Namespace = aggregate.kind == .union ? .union : .structure
      if let name = aggregate.name, let id = try lookupID(TypeQuery(namespace: ns, name: name)),
        case .aggregate(let full) = try convert(id, shallow: false), full.members != nil
      {
        return full
      }
      throw KernelTypeError(
        file: source, "\(aggregate.displayName) is only declared, never defined, in this BTF")
    }
  }

  // MARK: - Lookup (callers hold `lock`)

  /// The id `query` names, preferring definitions over forward declarations.
  private func lookupID(_ query: TypeQuery) throws -> UInt32? {
    if let cached = state.queries[query] { return cached }
    // pahole keeps GCC's base type spellings (`long unsigned int`).
    let spellings = baseTypeSpellings(of: query.name).map { Array($0.utf8) }
    // Rank candidates: lower is better; 0 ends the scan at once.
    var best: (rank: Int, id: UInt32)?
    if state.names == nil { state.names = BTFNameIndex(layout) }
    // In id order, as a scan of the whole table would meet them: the first best wins.
    let ids = Set(spellings.flatMap { state.names?.candidates($0) ?? [] }).sorted()
    for id in ids where Int(id) <= layout.typeCount {
      let r = try layout.record(id)
      guard let rank = BTFTypes.rank(r, for: query.namespace),
        best.map({ rank < $0.rank }) ?? true,
        spellings.contains(where: { layout.stringEquals(r.nameOffset, $0) })
      else { continue }
      best = (rank, id)
      if rank == 0 { break }
    }
    state.queries[query] = best?.id
    return best?.id
  }

  /// How well a record of this kind answers a query in `namespace` (nil: not at all).
  private static func rank(_ r: BTFRecord, for namespace: TypeQuery.Namespace) -> Int? {
    switch (namespace, r.kind) {
    case (.any, .typedef), (.any, .int), (.any, .float): return 0
    case (.any, .structure), (.any, .union): return 1
    case (.any, .enumeration), (.any, .enum64): return r.vlen > 0 ? 2 : 3
    case (.any, .forward): return 4
    case (.structure, .structure), (.union, .union): return 0
    case (.structure, .forward): return r.kindFlag ? nil : 1
    case (.union, .forward): return r.kindFlag ? 1 : nil
    case (.enumeration, .enumeration), (.enumeration, .enum64): return r.vlen > 0 ? 0 : 1
    default: return nil
    }
  }
}

/// What a `BTFTypes` remembers between lookups.
struct BTFConversionState {
  var queries: [TypeQuery: UInt32?] = [:]
  /// Type ids by name, built on the first lookup (BTFNameIndex.swift).
  var names: BTFNameIndex?
  /// Converted types by `id << 1 | shallow`.
  var memo: [UInt64: KernelType] = [:]
  /// Conversions under way, to reject cycles that do not pass through a pointer.
  var inProgress: Set<UInt64> = []
  var depth = 0
}

// MARK: - Conversion to KernelType (callers hold `lock`)

extension BTFTypes {
  /// Deepest type nesting accepted; real kernel types stay far below it.
  static let maxDepth = 256

  /// The type with id `id`. `shallow` turns structs/unions into references (used behind
  /// pointers and in function types). `from` is where the id was read, for errors.
  func convert(_ id: UInt32, shallow: Bool, from: Int? = nil) throws -> KernelType {
    if id == 0 { return .void }
    let key = UInt64(id) << 1 | (shallow ? 1 : 0)
    if let done = state.memo[key] { return done }
    let r = try layout.record(id, referencedFrom: from)
    guard !state.inProgress.contains(key), state.depth < BTFTypes.maxDepth else {
      throw BinaryError(
        file: layout.types.file, offset: layout.types.location(r.offset),
        expected: "BTF type \(id) not to contain itself except through a pointer",
        found: state.depth >= BTFTypes.maxDepth
          ? "nesting deeper than \(BTFTypes.maxDepth)" : "a cycle")
    }
    state.inProgress.insert(key)
    state.depth += 1
    defer {
      state.inProgress.remove(key)
      state.depth -= 1
    }
    let t = try convertRecord(r, id: id, shallow: shallow)
    state.memo[key] = t
    return t
  }

  private func name(_ r: BTFRecord) throws(BinaryError) -> String? {
    try layout.string(r.nameOffset, for: "BTF \(r.kind) type")
  }

  private func convertRecord(_ r: BTFRecord, id: UInt32, shallow: Bool) throws -> KernelType {
    let types = layout.types
    switch r.kind {
    case .int:
      let data = try types.u32(r.dataOffset, "BTF int encoding")
      return .base(try baseType(r, encoding: (data >> 24) & 0xf))
    case .float:
      return .base(
        BaseType(name: try name(r) ?? "float", size: Int(r.sizeOrType), encoding: .float))
    case .pointer:
      return .pointer(try convert(r.sizeOrType, shallow: true, from: r.offset + 8))
    case .array:
      let element = try types.u32(r.dataOffset, "btf_array.type")
      let count = try types.u32(r.dataOffset + 8, "btf_array.nelems")
      return .array(
        element: try convert(element, shallow: shallow, from: r.dataOffset), count: Int(count))
    case .structure, .union:
      let kind: AggregateKind = r.kind == .union ? .union : .structure
      let size = Int(r.sizeOrType)
      if shallow {
        return .aggregate(
          Aggregate(
            kind: kind, name: try name(r), size: size, members: nil, ref: TypeRef(refTag | UInt64(id))))
      }
      return .aggregate(
        Aggregate(
          kind: kind, name: try name(r), size: size, members: try members(r),
          ref: TypeRef(refTag | UInt64(id))))
    case .enumeration, .enum64:
      return .enumeration(try enumType(r))
    case .forward:
      return .aggregate(
        Aggregate(
          kind: r.kindFlag ? .union : .structure, name: try name(r), size: nil, members: nil,
          ref: TypeRef(refTag | UInt64(id))))
    case .typedef:
      let target = try convert(r.sizeOrType, shallow: shallow, from: r.offset + 8)
      return .typedef(name: try name(r) ?? "<anonymous typedef>", target: target)
    case .volatile, .const, .restrict:
      let q: TypeQualifier =
        r.kind == .const ? .const : (r.kind == .volatile ? .volatile : .restrict)
      return .qualified(q, try convert(r.sizeOrType, shallow: shallow, from: r.offset + 8))
    case .typeTag, .variable, .function:
      // TYPE_TAG (`__user`, `__rcu`) is transparent; a VAR or FUNC stands for its type.
      return try convert(r.sizeOrType, shallow: shallow, from: r.offset + 8)
    case .functionProto:
      return .function(try functionType(r))
    case .dataSection, .declTag:
      throw BinaryError(
        file: types.file, offset: types.location(r.offset),
        expected: "BTF type \(id) to be a type", found: "a \(r.kind) record")
    }
  }

  private func baseType(_ r: BTFRecord, encoding: UInt32) throws -> BaseType {
    let typeName = canonicalBaseTypeName(try name(r) ?? "int")
    let kind: BaseEncoding
    if encoding & BTFIntEncoding.bool != 0 || typeName == "_Bool" {
      kind = .bool
    } else if typeName == "signed char" {
      kind = .signedChar
    } else if typeName == "unsigned char" {
      kind = .unsignedChar
    } else if typeName == "char" || encoding & BTFIntEncoding.char != 0 {
      // Plain char follows the SIGNED bit: kernels since 6.2 build with -funsigned-char.
      kind = encoding & BTFIntEncoding.signed != 0 ? .signedChar : .unsignedChar
    } else {
      kind = encoding & BTFIntEncoding.signed != 0 ? .signed : .unsigned
    }
    return BaseType(name: typeName, size: Int(r.sizeOrType), encoding: kind)
  }

  private func members(_ r: BTFRecord) throws -> [Member] {
    var out: [Member] = []
    out.reserveCapacity(r.vlen)
    for i in 0..<r.vlen {
      let at = r.dataOffset + 12 * i  // vlen <= 0xffff: no overflow
      let nameOff = try layout.types.u32(at, "btf_member.name_off")
      let typeID = try layout.types.u32(at + 4, "btf_member.type")
      let rawOffset = try layout.types.u32(at + 8, "btf_member.offset")
      let memberName = try layout.string(nameOff, for: "BTF member")
      let type = try convert(typeID, shallow: false, from: at + 4)
      var bitOffset = Int(rawOffset)
      var bitSize: Int?
      if r.kindFlag {
        // BTF_MEMBER_BITFIELD_SIZE / BTF_MEMBER_BIT_OFFSET.
        bitOffset = Int(rawOffset & 0xff_ffff)
        let width = Int(rawOffset >> 24)
        bitSize = width == 0 ? nil : width
      } else if let (intOffset, bits) = try intBitfield(typeID) {
        // Old encoding: the bitfield width and offset live in the INT type itself.
        bitOffset += intOffset
        bitSize = bits
      }
      out.append(Member(name: memberName, type: type, bitOffset: bitOffset, bitSize: bitSize))
    }
    return out
  }

  /// For a member whose type (through typedefs/qualifiers) is an INT narrower than its
  /// size or at a bit offset: that offset and width.
  private func intBitfield(_ id: UInt32) throws -> (Int, Int)? {
    var current = id
    for _ in 0..<BTFTypes.maxDepth {
      guard current != 0 else { return nil }
      let r = try layout.record(current)
      switch r.kind {
      case .typedef, .const, .volatile, .restrict, .typeTag:
        current = r.sizeOrType
      case .int:
        let data = try layout.types.u32(r.dataOffset, "BTF int encoding")
        let bits = Int(data & 0xff)
        let offset = Int((data >> 16) & 0xff)
        return offset != 0 || bits != Int(r.sizeOrType) * 8 ? (offset, bits) : nil
      default:
        return nil
      }
    }
    return nil
  }

  private func enumType(_ r: BTFRecord) throws -> EnumType {
    var values: [Enumerator] = []
    values.reserveCapacity(r.vlen)
    let is64 = r.kind == .enum64
    for i in 0..<r.vlen {
      let at = r.dataOffset + (is64 ? 12 : 8) * i
      let nameOff = try layout.types.u32(at, "btf_enum.name_off")
      let value: Int64
      if is64 {
        let lo = UInt64(try layout.types.u32(at + 4, "btf_enum64.val_lo32"))
        let hi = UInt64(try layout.types.u32(at + 8, "btf_enum64.val_hi32"))
        value = Int64(bitPattern: hi << 32 | lo)
      } else {
        let raw = try layout.types.u32(at + 4, "btf_enum.val")
        value = r.kindFlag ? Int64(Int32(bitPattern: raw)) : Int64(raw)
      }
      let enumeratorName = try layout.string(nameOff, for: "BTF enumerator") ?? ""
      values.append(Enumerator(name: enumeratorName, value: value))
    }
    return EnumType(
      name: try name(r), size: Int(r.sizeOrType), isSigned: r.kindFlag, enumerators: values)
  }

  private func functionType(_ r: BTFRecord) throws -> FunctionType {
    let returnType = try convert(r.sizeOrType, shallow: true, from: r.offset + 8)
    var params: [KernelType] = []
    var variadic = false
    for i in 0..<r.vlen {
      let at = r.dataOffset + 8 * i
      let nameOff = try layout.types.u32(at, "btf_param.name_off")
      let typeID = try layout.types.u32(at + 4, "btf_param.type")
      if i == r.vlen - 1, typeID == 0, nameOff == 0 {
        variadic = true  // btf.h: a trailing {0, 0} param means `...`
      } else {
        params.append(try convert(typeID, shallow: true, from: at + 4))
      }
    }
    return FunctionType(returnType: returnType, parameters: params, isVariadic: variadic)
  }
}
