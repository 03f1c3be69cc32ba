// The kernel type model shared by the DWARF and BTF readers: C types as a value graph.
// Sources: DWARF 5 §5 (type entries), include/uapi/linux/btf.h (BTF kinds), and gdb's
// C type printer for how names are spelled (see KernelTypeNames.swift).
//
// NOTE: the graph is cut at pointers. A struct or union reached through a pointer or a
// function type is a *reference* (`Aggregate.members == nil`, `ref` set) so that cycles
// such as `struct list_head { struct list_head *next; }` stay finite and a lookup only
// converts what it needs. `TypeProvider.complete(_:)` loads a reference's members.

/// A C type from the kernel's debug information.
public indirect enum KernelType: Sendable, Hashable {
  /// `void`.
  case void
  /// An integer, character, boolean or floating-point type.
  case base(BaseType)
  /// A pointer to `pointee`.
  case pointer(KernelType)
  /// A struct or union.
  case aggregate(Aggregate)
  /// An enum.
  case enumeration(EnumType)
  /// An array of `element`; `count` nil is a flexible array member (`[]`).
  case array(element: KernelType, count: Int?)
  /// A typedef name for `target`.
  case typedef(name: String, target: KernelType)
  /// `const`, `volatile` or `restrict` applied to a type.
  case qualified(TypeQualifier, KernelType)
  /// A function type (what a function pointer points to).
  case function(FunctionType)
}

/// How the bits of a base type are interpreted.
public enum BaseEncoding: String, Sendable, Hashable {
  case signed
  case unsigned
  case bool
  case float
  /// `char` (signed on x86-64) and `signed char`.
  case signedChar = "signed-char"
  /// `unsigned char`.
  case unsignedChar = "unsigned-char"

  /// True for encodings whose values are sign-extended.
  public var isSigned: Bool { self == .signed || self == .signedChar }
  /// True for the character encodings (printed as `65 'A'`).
  public var isChar: Bool { self == .signedChar || self == .unsignedChar }
}

/// A base (scalar) type such as `unsigned long`.
public struct BaseType: Sendable, Hashable {
  /// The name as C spells it (`unsigned long`, not GCC's `long unsigned int`).
  public var name: String
  /// Size in bytes.
  public var size: Int
  public var encoding: BaseEncoding

  public init(name: String, size: Int, encoding: BaseEncoding) {
    self.name = canonicalBaseTypeName(name)
    self.size = size
    self.encoding = encoding
  }
}

/// `struct` or `union`.
public enum AggregateKind: String, Sendable, Hashable {
  case structure = "struct"
  case union = "union"
}

/// A handle a provider gives out so it can load a type later (a DWARF DIE offset or a
/// BTF type id). Only meaningful to the provider that made it.
public struct TypeRef: Sendable, Hashable {
  public let raw: UInt64
  public init(_ raw: UInt64) { self.raw = raw }
}

/// A struct or union, complete or as a reference.
public struct Aggregate: Sendable, Hashable {
  public var kind: AggregateKind
  /// The tag (`mm_struct`); nil for an anonymous struct or union.
  public var name: String?
  /// Size in bytes; nil for a declaration (`struct foo;`) whose definition is unknown.
  public var size: Int?
  /// Members in declaration order; nil for a reference that was not loaded.
  public var members: [Member]?
  /// Where the provider can load the definition from.
  public var ref: TypeRef?

  public init(
    kind: AggregateKind, name: String?, size: Int?, members: [Member]?, ref: TypeRef? = nil
  ) {
    self.kind = kind
    self.name = name
    self.size = size
    self.members = members
    self.ref = ref
  }

  /// `struct mm_struct`, or `struct {...}` when anonymous (as gdb spells them).
  public var displayName: String { "\(kind.rawValue) \(name ?? "{...}")" }
}

/// One member of a struct or union.
public struct Member: Sendable, Hashable {
  /// Nil for an anonymous struct/union member (`union { ... };`).
  public var name: String?
  /// The member's type (for a bitfield, the declared type, e.g. `unsigned int`).
  public var type: KernelType
  /// Offset of the first bit from the start of the enclosing struct, in bits.
  public var bitOffset: Int
  /// Width of a bitfield in bits; nil for an ordinary member.
  public var bitSize: Int?

  public init(name: String?, type: KernelType, bitOffset: Int, bitSize: Int? = nil) {
    self.name = name
    self.type = type
    self.bitOffset = bitOffset
    self.bitSize = bitSize
  }

  /// Byte offset of the member (of the byte holding its first bit, for a bitfield).
  public var offset: Int { bitOffset >> 3 }
  public var isBitfield: Bool { bitSize != nil }
}

/// An enum type with its enumerators.
public struct EnumType: Sendable, Hashable {
  /// The tag (`pageflags`); nil when anonymous.
  public var name: String?
  /// Size in bytes (4 for most kernel enums, 8 for some).
  public var size: Int
  /// True when values are signed (the underlying type is signed).
  public var isSigned: Bool
  public var enumerators: [Enumerator]

  public init(name: String?, size: Int, isSigned: Bool, enumerators: [Enumerator]) {
    self.name = name
    self.size = size
    self.isSigned = isSigned
    self.enumerators = enumerators
  }

  /// `enum pageflags`, or `enum {...}` when anonymous.
  public var displayName: String { "enum \(name ?? "{...}")" }

  /// The enumerator named `name`.
  public func enumerator(named name: String) -> Enumerator? {
    enumerators.first { $0.name == name }
  }
}

/// One `NAME = value` of an enum.
public struct Enumerator: Sendable, Hashable {
  public var name: String
  /// The value; for an unsigned enum above `Int64.max` this is the bit pattern.
  public var value: Int64

  public init(name: String, value: Int64) {
    self.name = name
    self.value = value
  }
}

/// A C type qualifier.
public enum TypeQualifier: String, Sendable, Hashable {
  case const
  case volatile
  case restrict
}

/// A function type: return type and parameters.
public struct FunctionType: Sendable, Hashable {
  public var returnType: KernelType
  public var parameters: [KernelType]
  /// True when the parameter list ends with `...`.
  public var isVariadic: Bool
  /// False for an old-style `int f()` declaration without a prototype.
  public var isPrototyped: Bool

  public init(
    returnType: KernelType, parameters: [KernelType], isVariadic: Bool, isPrototyped: Bool = true
  ) {
    self.returnType = returnType
    self.parameters = parameters
    self.isVariadic = isVariadic
    self.isPrototyped = isPrototyped
  }
}

// MARK: - Navigation

extension KernelType {
  /// The type with typedefs and qualifiers removed (what the bytes actually are).
  public var resolved: KernelType {
    var t = self
    while true {
      switch t {
      case .typedef(_, let target): t = target
      case .qualified(_, let target): t = target
      default: return t
      }
    }
  }

  /// Size in bytes as `sizeof` gives it; nil for `void`, functions, flexible arrays and
  /// declarations of unknown size, or when the size does not fit in an `Int`.
  public var byteSize: Int? {
    switch self {
    case .void, .function: return nil
    case .base(let b): return b.size
    case .pointer: return 8
    case .aggregate(let a): return a.size
    case .enumeration(let e): return e.size
    case .array(let element, let count):
      guard let count, let size = element.byteSize else { return nil }
      let (total, overflow) = size.multipliedReportingOverflow(by: count)
      return overflow ? nil : total
    case .typedef(_, let target), .qualified(_, let target): return target.byteSize
    }
  }

  /// The struct or union this type resolves to, if any.
  public var aggregate: Aggregate? {
    if case .aggregate(let a) = resolved { return a }
    return nil
  }

  /// True for a pointer, after typedefs and qualifiers.
  public var isPointer: Bool {
    if case .pointer = resolved { return true }
    return false
  }

  /// True for an array, after typedefs and qualifiers.
  public var isArray: Bool {
    if case .array = resolved { return true }
    return false
  }
}

extension Aggregate {
  /// The member called `name`, searching through anonymous struct/union members as C
  /// does; the returned member's `bitOffset` is relative to this aggregate. Nil when
  /// there is no such member or the members are not loaded.
  public func member(named name: String) -> Member? {
    guard let members else { return nil }
    for m in members where m.name == name { return m }
    for m in members where m.name == nil {
      if let inner = m.type.aggregate, var found = inner.member(named: name) {
        found.bitOffset += m.bitOffset
        return found
      }
    }
    return nil
  }

  /// Every named member, anonymous members flattened in declaration order, with bit
  /// offsets relative to this aggregate (what `offsetof` would give).
  public var flattenedMembers: [Member] {
    guard let members else { return [] }
    var out: [Member] = []
    for m in members {
      if m.name == nil, let inner = m.type.aggregate {
        for var sub in inner.flattenedMembers {
          sub.bitOffset += m.bitOffset
          out.append(sub)
        }
      } else {
        out.append(m)
      }
    }
    return out
  }
}
