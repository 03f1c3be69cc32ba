// Type lookups by name, the interface both the DWARF (vmlinux) and the BTF (vmlinux
// section or dump memory) readers implement. Providers are lazy: they find what is
// asked for and nothing else. The conveniences below (sizeof, offsetof, member paths,
// enum constants) are written once on top of the four primitive lookups.

import KdigBinary

/// What a type name asks for: `struct mm_struct`, `union x`, `enum pageflags`, or a bare
/// `mm_struct` / `gate_desc` / `unsigned long` (typedef or base type, then struct, union,
/// enum, the way crash accepts `struct` names without the keyword).
public struct TypeQuery: Sendable, Hashable, CustomStringConvertible {
  /// Which C namespace the name lives in.
  public enum Namespace: String, Sendable, Hashable {
    /// A bare name: typedef or base type first, then struct, union, enum tags.
    case any
    case structure = "struct"
    case union
    case enumeration = "enum"
  }

  public var namespace: Namespace
  /// The name without the keyword; base type names are canonical (`unsigned long`).
  public var name: String

  public init(namespace: Namespace, name: String) {
    self.namespace = namespace
    self.name = namespace == .any ? canonicalBaseTypeName(name) : name
  }

  /// Parses `struct mm_struct`, `enum pageflags`, `gate_desc`, `long unsigned int`.
  public init(parsing text: String) {
    let words = text.split(separator: " ").map(String.init)
    if words.count == 2, let ns = Namespace(rawValue: words[0]), ns != .any {
      self.init(namespace: ns, name: words[1])
    } else {
      self.init(namespace: .any, name: words.joined(separator: " "))
    }
  }

  public var description: String { namespace == .any ? name : "\(namespace.rawValue) \(name)" }
}

/// Lazy, by-name access to the kernel's types.
public protocol TypeProvider: AnyObject, Sendable {
  /// The file the types come from, used in every error message.
  var source: String { get }

  /// The type `query` names, or nil when the debug information has no such type.
  func findType(_ query: TypeQuery) throws -> KernelType?

  /// The type of the global (or per-cpu) variable `name`, or nil when unknown. When
  /// `address` (the link-time address from the symbol table) is given it disambiguates
  /// static variables that share a name.
  func findVariableType(_ name: String, address: UInt64?) throws -> KernelType?

  /// The enum declaring the constant `name` (`PG_head`, `NR_FREE_PAGES`) and its value.
  func findEnumerator(_ name: String) throws -> (type: EnumType, enumerator: Enumerator)?

  /// The definition of a struct/union that was returned as a reference (reached through a
  /// pointer, or only declared where it was found). Complete aggregates are returned as is.
  func complete(_ aggregate: Aggregate) throws -> Aggregate
}

/// Where a member is, as `offsetof` and the bitfield width give it.
public struct MemberLocation: Sendable, Hashable {
  /// The path that was resolved (`mm_struct.pgd`).
  public var path: String
  /// The member's type (for a bitfield, its declared type).
  public var type: KernelType
  /// Offset of the first bit from the start of the outer type.
  public var bitOffset: Int
  /// Width of a bitfield; nil for ordinary members.
  public var bitSize: Int?

  public init(path: String, type: KernelType, bitOffset: Int, bitSize: Int?) {
    self.path = path
    self.type = type
    self.bitOffset = bitOffset
    self.bitSize = bitSize
  }

  /// Byte offset (of the byte holding the first bit, for a bitfield).
  public var offset: Int { bitOffset >> 3 }
  /// Size of the member's type in bytes (nil for a flexible array).
  public var size: Int? { type.byteSize }
}

// MARK: - Conveniences that throw what was looked for

extension TypeProvider {
  /// The type named `name` (`struct mm_struct`, `mm_struct`, `gate_desc`, `unsigned long`),
  /// optionally followed by `*`s (`struct page *`).
  public func type(named name: String) throws -> KernelType {
    var base = Substring(name.trimmingWhitespace())
    var depth = 0
    while base.last == "*" || base.last == " " {
      if base.last == "*" { depth += 1 }
      base = base.dropLast()
    }
    let query = TypeQuery(parsing: String(base))
    guard var t = try findType(query) else {
      throw KernelTypeError(file: source, "no type named '\(query)'")
    }
    for _ in 0..<depth { t = .pointer(t) }
    return t
  }

  /// `sizeof(name)`.
  public func sizeof(_ name: String) throws -> Int {
    let t = try type(named: name)
    guard let size = t.byteSize else {
      throw KernelTypeError(file: source, "'\(name)' (\(t.name)) has no size")
    }
    return size
  }

  /// The member at `path`: a type name, then members and indices, e.g. `mm_struct.pgd`,
  /// `cpu_entry_area.tss.x86_tss`, `struct x86_hw_tss.ist[2]`. Anonymous struct and
  /// union members are searched through, as C does.
  public func member(_ path: String) throws -> MemberLocation {
    guard let dot = path.firstIndex(of: ".") else {
      throw KernelTypeError(
        file: source, "'\(path)' is not a member path (expected type.member)", category: .usage)
    }
    let typeName = String(path[..<dot]).trimmingWhitespace()
    let rest = String(path[path.index(after: dot)...])
    return try member(of: try type(named: typeName), path: rest, displayPrefix: typeName)
  }

  /// `offsetof` for a member path such as `mm_struct.pgd`.
  public func offsetof(_ path: String) throws -> Int { try member(path).offset }

  /// The member at `path` (`tss.x86_tss`, `ist[2]`) inside `type`.
  public func member(of type: KernelType, path: String, displayPrefix: String? = nil) throws
    -> MemberLocation
  {
    let components: [MemberPathComponent]
    do {
      components = try parseMemberPath(path)
    } catch {
      throw KernelTypeError(file: source, error.description, category: .usage)
    }
    var current = type
    var bitOffset = 0
    var bitSize: Int?
    var walked = displayPrefix ?? type.name
    for component in components {
      if bitSize != nil {
        throw KernelTypeError(file: source, "'\(walked)' is a bitfield; it has no members")
      }
      switch component {
      case .member(let name):
        guard case .aggregate(let agg0) = current.resolved else {
          throw KernelTypeError(
            file: source,
            "cannot look up member '\(name)' in '\(walked)': its type \(current.name) is not a"
              + " struct or union"
              + (current.isPointer ? " (member paths do not follow pointers)" : ""))
        }
        let agg = try complete(agg0)
        guard let m = agg.member(named: name) else {
          throw KernelTypeError(file: source, "no member '\(name)' in \(agg.displayName)")
        }
        bitOffset += m.bitOffset
        bitSize = m.bitSize
        current = m.type
        walked += ".\(name)"
      case .index(let i):
        guard case .array(let element, _) = current.resolved else {
          throw KernelTypeError(
            file: source, "cannot index '\(walked)': its type \(current.name) is not an array")
        }
        let completedElement = try completed(element)
        guard let elementSize = completedElement.byteSize,
          let sum = checkedBitOffset(bitOffset, index: i, elementSize: elementSize)
        else {
          throw KernelTypeError(file: source, "cannot index '\(walked)' with [\(i)]")
        }
        bitOffset = sum
        current = completedElement
        walked += "[\(i)]"
      }
    }
    return MemberLocation(path: walked, type: current, bitOffset: bitOffset, bitSize: bitSize)
  }

  /// The value of the enum constant `name` (`PG_head`, `NR_FREE_PAGES`).
  public func enumValue(_ name: String) throws -> Int64 {
    guard let found = try findEnumerator(name) else {
      throw KernelTypeError(file: source, "no enum constant named '\(name)'")
    }
    return found.enumerator.value
  }

  /// The type of the variable `name` (`init_mm`), optionally at link-time `address`.
  public func variableType(_ name: String, address: UInt64? = nil) throws -> KernelType {
    guard let t = try findVariableType(name, address: address) else {
      let at = address.map { " at \(hex0x($0))" } ?? ""
      throw KernelTypeError(file: source, "no type information for variable '\(name)'\(at)")
    }
    return t
  }

  /// The element count of the array member at `path` (`x86_hw_tss.ist` → 7).
  public func arrayLength(ofMember path: String) throws -> Int {
    try arrayLength(of: try member(path).type, what: path)
  }

  /// The element count of the array variable `name` (`idt_table` → 256).
  public func arrayLength(ofVariable name: String, address: UInt64? = nil) throws -> Int {
    try arrayLength(of: try variableType(name, address: address), what: name)
  }

  private func arrayLength(of type: KernelType, what: String) throws -> Int {
    guard case .array(_, let count) = type.resolved else {
      throw KernelTypeError(file: source, "'\(what)' is \(type.name), not an array")
    }
    guard let count else {
      throw KernelTypeError(file: source, "'\(what)' is a flexible array (\(type.name))")
    }
    return count
  }

  /// `type` with every struct/union that is part of its layout (through typedefs,
  /// qualifiers and arrays, not through pointers) loaded.
  public func completed(_ type: KernelType) throws -> KernelType {
    switch type {
    case .aggregate(let a): return .aggregate(try complete(a))
    case .typedef(let name, let target): return .typedef(name: name, target: try completed(target))
    case .qualified(let q, let target): return .qualified(q, try completed(target))
    case .array(let element, let count):
      return .array(element: try completed(element), count: count)
    default: return type
    }
  }
}

/// `base + index * elementSize * 8`, or nil when it does not fit in an `Int`.
func checkedBitOffset(_ base: Int, index: Int, elementSize: Int) -> Int? {
  let (bits, o1) = elementSize.multipliedReportingOverflow(by: 8)
  let (scaled, o2) = index.multipliedReportingOverflow(by: bits)
  let (sum, o3) = base.addingReportingOverflow(scaled)
  return o1 || o2 || o3 ? nil : sum
}
