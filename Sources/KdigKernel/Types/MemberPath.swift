// The member-path syntax of `offsetof`-style lookups and of `kdig p`: `tss.x86_tss`,
// `ist[2]`, `gdt[1][0]`. Only names and non-negative decimal or 0x indices.

import KdigBinary

/// One step of a member path.
public enum MemberPathComponent: Sendable, Hashable {
  case member(String)
  case index(Int)
}

/// A member path that does not parse.
public struct MemberPathSyntaxError: Error, CustomStringConvertible {
  public var path: String
  public var reason: String
  public var description: String { "bad member path '\(path)': \(reason)" }
}

/// Parses `a.b[2].c` (a leading `.` is allowed) into components.
public func parseMemberPath(_ path: String) throws(MemberPathSyntaxError) -> [MemberPathComponent] {
  var out: [MemberPathComponent] = []
  let chars = Array(path.unicodeScalars)
  var i = 0
  var expectName = true
  func isIdent(_ c: Unicode.Scalar, first: Bool) -> Bool {
    c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (!first && c >= "0" && c <= "9")
  }
  while i < chars.count {
    let c = chars[i]
    if c == " " || c == "\t" {
      i += 1
    } else if c == "." {
      guard !expectName || out.isEmpty else {
        throw MemberPathSyntaxError(path: path, reason: "empty member name")
      }
      expectName = true
      i += 1
    } else if c == "[" {
      guard let close = chars[i...].firstIndex(of: "]") else {
        throw MemberPathSyntaxError(path: path, reason: "missing ']'")
      }
      let text = String(String.UnicodeScalarView(chars[(i + 1)..<close]))
      guard let value = parseInteger(text, defaultHex: false), let index = Int(exactly: value)
      else {
        throw MemberPathSyntaxError(path: path, reason: "bad index '[\(text)]'")
      }
      out.append(.index(index))
      expectName = false
      i = close + 1
    } else if isIdent(c, first: true) {
      guard expectName else {
        throw MemberPathSyntaxError(path: path, reason: "missing '.' before a member name")
      }
      var j = i
      while j < chars.count, isIdent(chars[j], first: false) { j += 1 }
      out.append(.member(String(String.UnicodeScalarView(chars[i..<j]))))
      expectName = false
      i = j
    } else {
      throw MemberPathSyntaxError(path: path, reason: "unexpected '\(c)'")
    }
  }
  if out.isEmpty || expectName {
    throw MemberPathSyntaxError(path: path, reason: "empty member name")
  }
  return out
}
