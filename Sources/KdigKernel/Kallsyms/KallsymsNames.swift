// kallsyms' compressed names (scripts/kallsyms.c, kernel/kallsyms.c kallsyms_expand_symbol):
// kallsyms_names holds one entry per symbol, a length then that many token numbers;
// token n expands to the NUL-terminated string at kallsyms_token_table[kallsyms_token_index[n]].
// The length is one byte, or two when its high bit is set (big symbols, v6.1: low 7 bits,
// then the next byte << 7). The expansion's first character is the nm type letter, the rest
// is the name. Everything is bounded by the symbol count and the sizes of the tables.
//
// Names are not expanded up front: one pass checks every entry and computes, per symbol,
// its type letter and a hash of its name made from per-token hashes (a polynomial hash
// composes over concatenation), so a start reads each token number once instead of
// copying ~3 MB of names. A name is expanded when a lookup or a symbolize needs it.

import KdigBinary

/// The 256 tokens of kallsyms_token_table.
struct KallsymsTokens {
  /// Token bytes, one after another; token n is `bytes[starts[n]..<starts[n + 1]]`.
  let bytes: [UInt8]
  let starts: [Int]

  /// Splits `table` at the offsets of `index` (256 little-endian u16).
  init(table: ByteView, index: ByteView) throws {
    var bytes: [UInt8] = []
    var starts: [Int] = [0]
    bytes.reserveCapacity(table.count)
    for n in 0..<256 {
      let at = Int(try index.u16(n * 2, "kallsyms_token_index[\(n)]"))
      guard at < table.count else {
        throw KallsymsError(
          .corrupt,
          "kallsyms_token_index[\(n)] = \(at) points past kallsyms_token_table (\(table.count) bytes read)")
      }
      // A token is at most a few dozen bytes; 256 bounds the scan for its NUL.
      var end = at
      while end < table.count, end - at < 256, try table.u8(end) != 0 { end += 1 }
      guard end < table.count, try table.u8(end) == 0 else {
        throw KallsymsError(.corrupt, "kallsyms token \(n) at offset \(at) has no NUL within 256 bytes")
      }
      for o in at..<end { bytes.append(try table.u8(o)) }
      starts.append(bytes.count)
    }
    self.bytes = bytes
    self.starts = starts
  }

  func length(_ n: Int) -> Int { starts[n + 1] - starts[n] }
}

/// The polynomial name hash, h = h·B + byte over the name (wrapping), which composes:
/// hash(a + b) = hash(a)·B^len(b) + hash(b). `finalized` mixes the low bits for table use.
enum KallsymsNameHash {
  static let base: UInt64 = 0x100_0000_01b3

  /// hash and B^count of `bytes`.
  static func of<C: Collection>(_ bytes: C) -> (hash: UInt64, power: UInt64) where C.Element == UInt8 {
    var h: UInt64 = 0
    var p: UInt64 = 1
    for b in bytes {
      h = h &* base &+ UInt64(b)
      p = p &* base
    }
    return (h, p)
  }

  /// Spreads every bit of the polynomial into the low ones (murmur3's fmix64).
  static func finalized(_ h: UInt64) -> UInt64 { ContentFingerprint.mix(h) }
}

/// Every symbol's entry in kallsyms_names, type letter and name hash.
struct KallsymsNames {
  /// The kallsyms_names bytes and the tokens, for expanding names on demand.
  let names: ByteView
  let tokens: KallsymsTokens
  /// Where each entry's token numbers start in `names`, and how many there are.
  let entryStart: [Int32]
  let entryLength: [UInt16]
  /// The nm type letter of each symbol (ASCII).
  let letters: [UInt8]
  /// KallsymsNameHash.finalized of each name (without the letter).
  let hashes: [UInt64]
  /// Bytes of kallsyms_names the entries used (where kallsyms_markers starts).
  let consumed: Int

  /// The longest expanded name the kernel allows (KSYM_NAME_LEN 512 since v6.1) plus the
  /// type letter: a longer expansion is damage, not a symbol.
  static let maxExpanded = 513

  /// Checks `count` entries of `names` and hashes their names (one pass, per token).
  init(names: ByteView, count: Int, tokens: KallsymsTokens) throws {
    try Self.check(count: count, namesBytes: names.count)
    // Per token: its length, its hash and B^length, and the same without its first byte
    // (the first token of an entry starts with the type letter).
    var length = [Int](repeating: 0, count: 256)
    var hash = [UInt64](repeating: 0, count: 256)
    var power = [UInt64](repeating: 1, count: 256)
    var restHash = [UInt64](repeating: 0, count: 256)
    var restPower = [UInt64](repeating: 1, count: 256)
    var first = [UInt8](repeating: 0, count: 256)
    for n in 0..<256 {
      let token = tokens.bytes[tokens.starts[n]..<tokens.starts[n + 1]]
      length[n] = token.count
      (hash[n], power[n]) = KallsymsNameHash.of(token)
      (restHash[n], restPower[n]) = KallsymsNameHash.of(token.dropFirst())
      first[n] = token.first ?? 0
    }
    var entryStart = [Int32](repeating: 0, count: count)
    var entryLength = [UInt16](repeating: 0, count: count)
    var letters = [UInt8](repeating: 0, count: count)
    var hashes = [UInt64](repeating: 0, count: count)
    var pos = 0
    try names.withUnsafeBytes { raw in
      let end = raw.count
      for i in 0..<count {
        guard pos < end else { throw Self.truncated(i, pos, end) }
        var tokenCount = Int(raw[pos])
        pos += 1
        if tokenCount & 0x80 != 0 {
          guard pos < end else { throw Self.truncated(i, pos, end) }
          tokenCount = (tokenCount & 0x7f) | Int(raw[pos]) << 7
          pos += 1
        }
        guard tokenCount > 0, tokenCount <= end - pos else {
          throw KallsymsError(
            .corrupt,
            "kallsyms_names entry \(i) at offset \(pos) claims \(tokenCount) tokens but \(end - pos) bytes remain")
        }
        let t0 = Int(raw[pos])
        var expanded = length[t0]
        var h = restHash[t0]
        var t = pos + 1
        while t < pos + tokenCount {
          let n = Int(raw[t])
          expanded += length[n]
          h = h &* power[n] &+ hash[n]
          t += 1
        }
        // The first character is the type letter; a name must follow it. (A first token
        // of one byte is the letter alone; the name then starts with the second token.)
        guard length[t0] > 0, expanded >= 2, expanded <= Self.maxExpanded else {
          throw KallsymsError(
            .corrupt, "kallsyms_names entry \(i) expands to \(expanded) characters (2…\(Self.maxExpanded) expected)")
        }
        entryStart[i] = Int32(pos)  // pos < names.count <= Int32.max (checked above)
        entryLength[i] = UInt16(tokenCount)  // at most 0x7f | 0xff << 7
        letters[i] = first[t0]
        hashes[i] = KallsymsNameHash.finalized(h)
        pos += tokenCount
      }
    }
    self.init(
      storing: names, tokens, entryStart: entryStart, entryLength: entryLength, letters: letters, hashes: hashes,
      consumed: pos)
  }

  /// Keeps entries already known to fit `names` (decoded above, or checked by the caller).
  init(
    storing names: ByteView, _ tokens: KallsymsTokens, entryStart: [Int32], entryLength: [UInt16], letters: [UInt8],
    hashes: [UInt64], consumed: Int
  ) {
    self.names = names
    self.tokens = tokens
    self.entryStart = entryStart
    self.entryLength = entryLength
    self.letters = letters
    self.hashes = hashes
    self.consumed = consumed
  }

  /// The size checks that need no decoding, made before anything else is read for `count`.
  static func check(count: Int, namesBytes: Int) throws {
    guard namesBytes <= Int(Int32.max) else {
      throw KallsymsError(.corrupt, "kallsyms_names of \(namesBytes) bytes is larger than any kernel's")
    }
    // An entry is a length byte and at least one token: a count beyond half the bytes is
    // damage, found before the per-symbol arrays are allocated for it (60 MB at 4M).
    guard count <= namesBytes / 2 else {
      throw KallsymsError(
        .corrupt, "kallsyms_num_syms \(count) needs at least \(count * 2) bytes of kallsyms_names, which has \(namesBytes)")
    }
  }

  static func truncated(_ i: Int, _ pos: Int, _ end: Int) -> KallsymsError {
    KallsymsError(.corrupt, "kallsyms_names ends (\(end) bytes) before entry \(i) (offset \(pos))")
  }

  var count: Int { letters.count }

  /// The expanded name of symbol `i` (without its type letter). Entry ranges and token
  /// numbers were checked by init.
  func nameBytes(_ i: Int) -> [UInt8] {
    var out: [UInt8] = []
    let start = Int(entryStart[i])
    let end = start + Int(entryLength[i])
    names.withUnsafeBytes { raw in
      for t in start..<end {
        let n = Int(raw[t])
        let from = tokens.starts[n] + (t == start ? 1 : 0)
        out.append(contentsOf: tokens.bytes[min(from, tokens.starts[n + 1])..<tokens.starts[n + 1]])
      }
    }
    return out
  }

  func name(_ i: Int) -> String { String(decoding: nameBytes(i), as: UTF8.self) }
}
