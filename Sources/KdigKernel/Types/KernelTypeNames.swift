// C spellings of kernel types, as gdb (and so crash) prints them: `unsigned long`,
// `pgd_t *`, `struct mm_struct`, `gate_desc (*)[256]`, `void (*)(void)`.
// Source: gdb c-typeprint.c (declarator built inside-out: pointers bind before arrays
// and functions, so a pointer to an array or function needs parentheses). GCC names
// base types `long unsigned int`; gdb shows `unsigned long`, so names are canonicalised.

/// GCC's base-type spellings and the canonical C spelling gdb prints.
private let baseTypeSpellings: [String: String] = [
  "long unsigned int": "unsigned long",
  "long int": "long",
  "long signed int": "long",
  "signed long": "long",
  "unsigned long int": "unsigned long",
  "short unsigned int": "unsigned short",
  "short int": "short",
  "unsigned short int": "unsigned short",
  "long long unsigned int": "unsigned long long",
  "long long int": "long long",
  "unsigned long long int": "unsigned long long",
  "signed int": "int",
  "signed": "int",
  "unsigned": "unsigned int",
  "__int128 unsigned": "unsigned __int128",
]

/// The canonical spelling of a base type name (`long unsigned int` → `unsigned long`).
public func canonicalBaseTypeName(_ name: String) -> String {
  let collapsed = name.split(separator: " ").joined(separator: " ")
  return baseTypeSpellings[collapsed] ?? collapsed
}

extension KernelType {
  /// The type's name as gdb's `whatis` prints it: `unsigned int`, `pgd_t *`,
  /// `struct mm_struct`, `gate_desc (*)[256]`, `char [65]`.
  public var name: String { declaration(of: "") }

  /// A C declaration of `identifier` with this type (`unsigned long flags`,
  /// `void (*func)(void)`); with an empty identifier, the abstract type name.
  public func declaration(of identifier: String) -> String {
    let (base, declarator) = split(identifier)
    if declarator.isEmpty { return base }
    // gdb: `char *`, `char [16]`, `void (*)(void)`: a space between base and declarator.
    return base + " " + declarator
  }

  /// Splits a declaration into its base name and the declarator wrapped around `inner`.
  private func split(_ inner: String) -> (String, String) {
    switch self {
    case .void: return ("void", inner)
    case .base(let b): return (b.name, inner)
    case .aggregate(let a): return (a.displayName, inner)
    case .enumeration(let e): return (e.displayName, inner)
    case .typedef(let name, _): return (name, inner)
    case .qualified(let q, let target):
      if case .pointer = target {
        // `char * const p`: a qualified pointer puts the qualifier after the star.
        let suffix = inner.isEmpty ? "" : " " + inner
        return target.splitPointer(" " + q.rawValue + suffix)
      }
      if case .array(let element, let count) = target {
        // C: a qualified array is an array of qualified elements (GCC emits
        // `const (char const [])` for `const char x[]`); qualify the element once.
        let qualifiedElement = element.hasTopQualifier(q) ? element : .qualified(q, element)
        return KernelType.array(element: qualifiedElement, count: count).split(inner)
      }
      let (base, declarator) = target.split(inner)
      return ("\(q.rawValue) \(base)", declarator)
    case .pointer:
      return splitPointer(inner)
    case .array(let element, let count):
      let bound = count.map { "[\($0)]" } ?? "[]"
      return element.split(inner + bound)
    case .function(let f):
      return f.returnType.split(inner + f.parameterList)
    }
  }

  /// The pointer case of `split`: `*` + `rest`, parenthesised before `[]` or `()`.
  /// `rest` starts with a space when it is a qualifier (`* const`).
  private func splitPointer(_ rest: String) -> (String, String) {
    guard case .pointer(let pointee) = self else { return split(rest) }
    let star = "*" + rest
    switch pointee.strippingQualifiersForDeclarator {
    case .array, .function: return pointee.split("(" + star + ")")
    default: return pointee.split(star)
    }
  }

  /// True when `q` is among the qualifiers wrapping this type.
  fileprivate func hasTopQualifier(_ q: TypeQualifier) -> Bool {
    if case .qualified(let have, let inner) = self { return have == q || inner.hasTopQualifier(q) }
    return false
  }

  /// For deciding on parentheses: qualifiers do not change whether `(*)` is needed.
  private var strippingQualifiersForDeclarator: KernelType {
    if case .qualified(_, let t) = self { return t.strippingQualifiersForDeclarator }
    return self
  }
}

extension FunctionType {
  /// `(void)`, `(int, char *)`, `(const char *, ...)`, or `()` without a prototype.
  public var parameterList: String {
    if parameters.isEmpty {
      if isVariadic { return "(...)" }
      return isPrototyped ? "(void)" : "()"
    }
    var names = parameters.map(\.name)
    if isVariadic { names.append("...") }
    return "(" + names.joined(separator: ", ") + ")"
  }
}
