// VMCOREINFO: the KEY=VALUE lines the kernel writes for dump tools (kernel/vmcore_info.c,
// arch/x86/kernel/vmcore_info_64.c; formats in include/linux/vmcore_info.h). SYMBOL() and
// KERNELOFFSET are hex without 0x; NUMBER() is signed decimal (or 0x-hex for
// NUMBER(VMALLOC_START)); SIZE/OFFSET/LENGTH are decimal. See dump-formats.md §3.

import KdigBinary

/// Parsed VMCOREINFO, every key kept in emission order.
public struct VMCoreInfo: Sendable {
  /// Every line as (key, value), in order; repeated keys keep every occurrence.
  public let entries: [(key: String, value: String)]
  private let index: [String: String]

  /// Parses the text of a VMCOREINFO note. Lines without `=` are kept with an empty key so
  /// nothing is silently dropped, but never looked up.
  public init(text: String) {
    var entries: [(String, String)] = []
    var index: [String: String] = [:]
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      guard let eq = line.firstIndex(of: "=") else {
        entries.append(("", String(line)))
        continue
      }
      let key = String(line[..<eq])
      let value = String(line[line.index(after: eq)...])
      entries.append((key, value))
      if index[key] == nil { index[key] = value }
    }
    self.entries = entries
    self.index = index
  }

  /// The raw value of `key`.
  public subscript(key: String) -> String? { index[key] }

  /// `OSRELEASE`.
  public var osRelease: String? { index["OSRELEASE"] }
  /// `BUILD-ID` (40 hex digits).
  public var buildID: String? { index["BUILD-ID"]?.lowercased() }
  /// `PAGESIZE`.
  public var pageSize: Int? { index["PAGESIZE"].flatMap { Int($0) } }
  /// `KERNELOFFSET` (hex, no prefix): the KASLR offset.
  public var kernelOffset: UInt64? { index["KERNELOFFSET"].flatMap { UInt64($0, radix: 16) } }
  /// `CRASHTIME` (seconds since the epoch), present when the kernel panicked through kdump.
  public var crashTime: Int64? { index["CRASHTIME"].flatMap { Int64($0) } }

  /// `SYMBOL(name)`: an already-relocated runtime address.
  public func symbol(_ name: String) -> UInt64? {
    index["SYMBOL(\(name))"].flatMap { UInt64($0, radix: 16) }
  }

  /// `NUMBER(name)`: signed decimal, or hex with a 0x prefix.
  public func number(_ name: String) -> Int64? { Self.decimalOrHex(index["NUMBER(\(name))"]) }
  /// `SIZE(name)`.
  public func size(_ name: String) -> Int64? { Self.decimalOrHex(index["SIZE(\(name))"]) }
  /// `OFFSET(struct.member)`.
  public func offset(_ name: String) -> Int64? { Self.decimalOrHex(index["OFFSET(\(name))"]) }
  /// `LENGTH(name)`.
  public func length(_ name: String) -> Int64? { Self.decimalOrHex(index["LENGTH(\(name))"]) }

  /// Never octal: a leading 0 is decimal, as makedumpfile and crash read it.
  static func decimalOrHex(_ text: String?) -> Int64? {
    guard let text else { return nil }
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
      return UInt64(text.dropFirst(2), radix: 16).map { Int64(bitPattern: $0) }
    }
    if let v = Int64(text) { return v }
    return UInt64(text).map { Int64(bitPattern: $0) }
  }
}

extension VMCoreInfo {
  /// `OFFSET(name)` as an Int in 0...limit, else nil: a damaged value (negative, huge)
  /// must not become a negative conversion (a trap) or a giant loop bound.
  public func offset(_ name: String, upTo limit: Int) -> Int? { Self.bounded(offset(name), limit) }
  /// `SIZE(name)` in 1...limit, else nil.
  public func size(_ name: String, upTo limit: Int) -> Int? { Self.bounded(size(name), limit).flatMap { $0 > 0 ? $0 : nil } }
  /// `LENGTH(name)` in 0...limit, else nil.
  public func length(_ name: String, upTo limit: Int) -> Int? { Self.bounded(length(name), limit) }

  static func bounded(_ value: Int64?, _ limit: Int) -> Int? {
    guard let value, value >= 0, value <= Int64(limit) else { return nil }
    return Int(value)
  }
}
