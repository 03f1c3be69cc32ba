// The expressions `kdig p` accepts, a small subset of C (what crash users type):
//   SYMBOL   SYMBOL.member.member   SYMBOL->member   SYMBOL[3]   &SYMBOL   *SYMBOL
//   (struct page *)0xffffea0000000000   *(pgd_t *)ADDR   (EXPR).member
// Grammar (C precedence: postfix binds tighter than unary):
//   unary   := '&' unary | '*' unary | '(' type ')' unary | postfix
//   postfix := primary ( '.' NAME | '->' NAME | '[' INTEGER ']' )*
//   primary := NAME | INTEGER | '(' unary ')'
//   type    := ('struct'|'union'|'enum')? NAME+ '*'*

import KdigBinary

/// A parsed `kdig p` expression.
public indirect enum PrintExpression: Sendable, Hashable, CustomStringConvertible {
  /// A global variable (or any symbol) by name.
  case symbol(String)
  /// An integer literal (an address, for casts).
  case integer(UInt64)
  /// `base.member`.
  case member(PrintExpression, String)
  /// `base->member`.
  case arrow(PrintExpression, String)
  /// `base[index]`.
  case index(PrintExpression, Int)
  /// `&base`.
  case addressOf(PrintExpression)
  /// `*base`.
  case dereference(PrintExpression)
  /// `(type *)base`: `typeName` as written (`struct page`), then `pointerDepth` stars.
  case cast(typeName: String, pointerDepth: Int, PrintExpression)

  /// Parses `text`; a `ValueError` (category `.usage`) says where it stopped.
  public init(parsing text: String) throws {
    var parser = ExpressionParser(text)
    let e = try parser.unary()
    guard parser.atEnd else { throw parser.error("unexpected '\(parser.peekText)'") }
    self = e
  }

  /// The expression written back in C syntax.
  public var description: String {
    switch self {
    case .symbol(let s): return s
    case .integer(let v): return hex0x(v)
    case .member(let b, let m): return "\(b.postfixOperand).\(m)"
    case .arrow(let b, let m): return "\(b.postfixOperand)->\(m)"
    case .index(let b, let i): return "\(b.postfixOperand)[\(i)]"
    case .addressOf(let b): return "&\(b)"
    case .dereference(let b): return "*\(b)"
    case .cast(let t, let depth, let b):
      return "(\(t)\(depth > 0 ? " " + String(repeating: "*", count: depth) : ""))\(b)"
    }
  }

  private var postfixOperand: String {
    switch self {
    case .addressOf, .dereference, .cast: return "(\(self))"
    default: return description
    }
  }
}

/// Tokens of a print expression.
enum ExpressionToken: Equatable {
  case name(String)
  case integer(UInt64)
  case punct(String)
}

/// A recursive-descent parser over the token list.
struct ExpressionParser {
  let text: String
  private var tokens: [ExpressionToken] = []
  private var position = 0
  private var lexError: String?

  init(_ text: String) {
    self.text = text
    do { tokens = try ExpressionParser.lex(text) } catch { lexError = error.message }
  }

  var atEnd: Bool { position >= tokens.count }
  var peekText: String {
    guard position < tokens.count else { return "end" }
    switch tokens[position] {
    case .name(let s), .punct(let s): return s
    case .integer(let v): return hex0x(v)
    }
  }

  func error(_ why: String) -> ValueError {
    ValueError("cannot parse '\(text)': \(lexError ?? why)")
  }

  private func peek(_ ahead: Int = 0) -> ExpressionToken? {
    position + ahead < tokens.count ? tokens[position + ahead] : nil
  }

  private mutating func take(_ p: String) -> Bool {
    if peek() == .punct(p) {
      position += 1
      return true
    }
    return false
  }

  mutating func unary() throws -> PrintExpression {
    if lexError != nil { throw error("") }
    if take("&") { return .addressOf(try unary()) }
    if take("*") { return .dereference(try unary()) }
    if let (typeName, depth, length) = castAhead() {
      position += length
      return .cast(typeName: typeName, pointerDepth: depth, try unary())
    }
    return try postfix()
  }

  /// A `(type)` at the current position: its name, star count and token length.
  private func castAhead() -> (String, Int, Int)? {
    guard peek() == .punct("(") else { return nil }
    var words: [String] = []
    var i = 1
    while case .name(let w)? = peek(i) {
      words.append(w)
      i += 1
    }
    var stars = 0
    while peek(i) == .punct("*") {
      stars += 1
      i += 1
    }
    guard !words.isEmpty, peek(i) == .punct(")") else { return nil }
    let keyword = ["struct", "union", "enum"].contains(words[0])
    // `(name)` alone is a parenthesised variable unless something to cast follows.
    var operandFollows = false
    switch peek(i + 1) {
    case .name?, .integer?: operandFollows = true
    case .punct(let p)?: operandFollows = p == "(" || p == "&" || p == "*"
    case nil: operandFollows = false
    }
    guard keyword || stars > 0 || words.count > 1 || operandFollows else { return nil }
    return (words.joined(separator: " "), stars, i + 1)
  }

  private mutating func postfix() throws -> PrintExpression {
    var e = try primary()
    while true {
      if take(".") {
        e = .member(e, try name())
      } else if take("->") {
        e = .arrow(e, try name())
      } else if take("[") {
        guard case .integer(let v)? = peek(), let i = Int(exactly: v) else {
          throw error("expected an integer index after '['")
        }
        position += 1
        guard take("]") else { throw error("expected ']'") }
        e = .index(e, i)
      } else {
        return e
      }
    }
  }

  private mutating func name() throws -> String {
    guard case .name(let n)? = peek() else { throw error("expected a member name") }
    position += 1
    return n
  }

  private mutating func primary() throws -> PrintExpression {
    switch peek() {
    case .name(let n)?:
      position += 1
      return .symbol(n)
    case .integer(let v)?:
      position += 1
      return .integer(v)
    case .punct("(")?:
      position += 1
      let e = try unary()
      guard take(")") else { throw error("expected ')'") }
      return e
    default:
      throw error(atEnd ? "unexpected end" : "unexpected '\(peekText)'")
    }
  }

  static func lex(_ text: String) throws(ValueError) -> [ExpressionToken] {
    var out: [ExpressionToken] = []
    let s = Array(text.unicodeScalars)
    var i = 0
    func isName(_ c: Unicode.Scalar, first: Bool) -> Bool {
      c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
        || (!first && c >= "0" && c <= "9")
    }
    while i < s.count {
      let c = s[i]
      if c == " " || c == "\t" {
        i += 1
      } else if isName(c, first: true) {
        var j = i
        while j < s.count, isName(s[j], first: false) { j += 1 }
        out.append(.name(String(String.UnicodeScalarView(s[i..<j]))))
        i = j
      } else if c >= "0" && c <= "9" {
        var j = i
        while j < s.count, isName(s[j], first: false) { j += 1 }
        let literal = String(String.UnicodeScalarView(s[i..<j]))
        guard let v = parseInteger(literal, defaultHex: false) else {
          throw ValueError("bad number '\(literal)'")
        }
        out.append(.integer(v))
        i = j
      } else if c == "-", i + 1 < s.count, s[i + 1] == ">" {
        out.append(.punct("->"))
        i += 2
      } else if "().[]&*".unicodeScalars.contains(c) {
        out.append(.punct(String(c)))
        i += 1
      } else {
        throw ValueError("unexpected character '\(c)'")
      }
    }
    return out
  }
}
