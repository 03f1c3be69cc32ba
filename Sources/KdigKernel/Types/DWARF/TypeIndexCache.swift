// The on-disk memory of where DWARF lookups were answered, so the next run goes straight
// to dwarf_offdie. One small text file per vmlinux build-id:
// ${KDIG_CACHE:-$HOME/.cache/kdig}/types/<build-id>.idx
//
//   kdig-types-index 1
//   build-id d74ef9d7…
//   file-size 339651728
//   3175 struct mm_struct        (hex DIE offset, then the lookup key)
//   - any no_such_type           (a full scan found nothing)
//   checksum 1f0c…               (FNV-1a 64 of every byte above this line)
//
// Nothing in it is trusted blindly: a file with the wrong header, build-id, size or
// checksum is ignored (and rewritten on the next save), and every positive entry is
// checked against the DIE it points at before use (DWARFTypes.locate). Writes go to a
// temporary file renamed over the old one, so readers never see half a file; concurrent
// writers merge what is on disk before writing.

import KdigBinary

#if canImport(Glibc)
  import Glibc
#endif

/// Where a DWARF lookup was answered: a DIE offset, or nil for "not in this vmlinux".
struct TypeIndexCache {
  static let magicLine = "kdig-types-index 1"
  /// Entries beyond this are not written (the file stays small; old entries drop first).
  static let maxEntries = 20_000

  /// The index file; nil when caching is off (no build-id or disabled).
  let path: String?
  let buildID: String
  let fileSize: UInt64
  private(set) var entries: [String: UInt64?] = [:]
  private var order: [String] = []
  /// Why an existing file was ignored, for diagnostics.
  private(set) var rejection: String?

  init(path: String?, buildID: String, fileSize: UInt64) {
    self.path = path
    self.buildID = buildID
    self.fileSize = fileSize
    if let path, let text = TypeIndexCache.readFile(path) {
      CacheDirectory.used(path)
      switch parse(text) {
      case .success(let loaded):
        for (key, value) in loaded where entries.updateValue(value, forKey: key) == nil {
          order.append(key)
        }
      case .failure(let reason):
        rejection = reason.text
      }
    }
  }

  /// The default index path for `buildID` (`KDIG_CACHE`, else `$HOME/.cache/kdig`).
  static func defaultPath(buildID: String) -> String? {
    CacheDirectory.root.map { "\($0)/types/\(buildID).idx" }
  }

  /// Forgets `key` (its DIE did not match).
  mutating func remove(_ key: String) {
    entries.removeValue(forKey: key)
    order.removeAll { $0 == key }
  }

  /// Remembers a lookup's answer and writes the index (best effort: a read-only or full
  /// disk only costs the next run a scan).
  mutating func record(_ key: String, _ offset: UInt64?) {
    if entries.updateValue(offset, forKey: key) == nil { order.append(key) }
    save()
  }

  private func save() {
    guard let path else { return }
    var merged = self
    // Keep what other processes added meanwhile, if their file is sound.
    if let text = TypeIndexCache.readFile(path), case .success(let onDisk) = parse(text) {
      for (key, value) in onDisk where merged.entries[key] == nil {
        merged.entries[key] = value
        merged.order.append(key)
      }
    }
    let keys = merged.order.suffix(TypeIndexCache.maxEntries)
    var body = "\(TypeIndexCache.magicLine)\nbuild-id \(buildID)\nfile-size \(fileSize)\n"
    for key in keys {
      guard let value = merged.entries[key] else { continue }
      body += "\(value.map { String($0, radix: 16) } ?? "-") \(key)\n"
    }
    body += "checksum \(TypeIndexCache.checksum(body))\n"
    TypeIndexCache.writeAtomically(body, to: path)
  }

  // MARK: - Parsing

  struct Rejection: Error {
    let text: String
  }

  private func parse(_ text: String) -> Result<[(String, UInt64?)], Rejection> {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count >= 5, lines.last == "" else {
      return .failure(Rejection(text: "truncated file"))
    }
    lines.removeLast()
    let checksumLine = lines.removeLast()
    let body = lines.joined(separator: "\n") + "\n"
    guard checksumLine == "checksum \(TypeIndexCache.checksum(body))" else {
      return .failure(Rejection(text: "checksum mismatch"))
    }
    guard lines[0] == TypeIndexCache.magicLine, lines[1] == "build-id \(buildID)",
      lines[2] == "file-size \(fileSize)"
    else { return .failure(Rejection(text: "header does not match this vmlinux")) }
    var out: [(String, UInt64?)] = []
    for line in lines.dropFirst(3) {
      guard let space = line.firstIndex(of: " ") else {
        return .failure(Rejection(text: "malformed line"))
      }
      let value = line[..<space]
      let key = String(line[line.index(after: space)...])
      if value == "-" {
        out.append((key, nil))
      } else if let offset = UInt64(value, radix: 16) {
        out.append((key, offset))
      } else {
        return .failure(Rejection(text: "malformed offset"))
      }
    }
    return .success(out)
  }

  /// FNV-1a 64 of the UTF-8 bytes, as 16 hex digits.
  static func checksum(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
      hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3  // FNV prime; wrapping by design
    }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  // MARK: - File I/O (Glibc, no Foundation)

  /// The whole file as text, or nil when it is missing, unreadable or implausibly large.
  static func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while bytes.count <= 16 << 20 {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 { return nil }
      if n == 0 { return String(decoding: bytes, as: UTF8.self) }
      bytes += chunk[0..<n]
    }
    return nil
  }

  private static func writeAtomically(_ text: String, to path: String) {
    if OutputFile.replace(path, with: Array(text.utf8)) { CacheDirectory.stored(path) }
  }
}
