// What reading kallsyms computes (every name's entry, type letter and hash; the runtime
// addresses; the name hash table), kept per kernel build (DerivedIndexCache.swift) under a
// fingerprint of the tables it came from: the first command on a build decodes ~150k
// entries, the next ones map the result. Everything loaded is checked against the tables in
// hand before use (entry ranges inside kallsyms_names, addresses in order, counts), so a
// damaged or foreign file is recomputed, never trusted.

import KdigBinary

struct KallsymsIndex {
  static let key = "kallsyms"
  static let encodings: [KallsymsEncoding] = [.absolute, .relative, .absolutePercpu]
  let names: KallsymsNames
  let runtime: [UInt64]
  let encoding: KallsymsEncoding
  let slots: [UInt32]

  /// The fingerprint of everything the index is computed from.
  static func fingerprint(
    names: ByteView, tokens: KallsymsTokens, count: Int, addresses: ByteView, base: UInt64?
  ) -> UInt64 {
    var f = ContentFingerprint()
    f.add(names)
    f.add(tokens.bytes)
    f.add(tokens.starts.map { UInt32(truncatingIfNeeded: $0) })
    f.add(addresses)
    f.add([UInt64(count), base ?? 0, base == nil ? 0 : 1])
    return f.value
  }

  /// The index stored under `fingerprint`, when it is whole and fits `names` and `count`.
  static func load(
    from cache: DerivedIndexCache, fingerprint: UInt64, names: ByteView, tokens: KallsymsTokens, count: Int
  ) -> KallsymsIndex? {
    guard let s = cache.load(key: key, fingerprint: fingerprint, sections: 7),
      let meta = IndexSection.values(s[6], as: UInt64.self, count: 3), meta[0] == UInt64(count),
      let encodingIndex = Int(exactly: meta[2]), encodingIndex < encodings.count,
      let consumed = Int(exactly: meta[1]),
      let start = IndexSection.values(s[0], as: Int32.self, count: count),
      let length = IndexSection.values(s[1], as: UInt16.self, count: count),
      let letters = IndexSection.values(s[2], as: UInt8.self, count: count),
      let hashes = IndexSection.values(s[3], as: UInt64.self, count: count),
      let runtime = IndexSection.values(s[4], as: UInt64.self, count: count),
      s[5].count % 4 == 0, let slots = IndexSection.values(s[5], as: UInt32.self, count: s[5].count / 4),
      KallsymsTable.isNameIndex(slots, count: count),
      let decoded = KallsymsNames(
        names: names, tokens: tokens, entryStart: start, entryLength: length, letters: letters, hashes: hashes,
        consumed: consumed),
      KallsymsTable.isAscending(runtime)
    else { return nil }
    return KallsymsIndex(names: decoded, runtime: runtime, encoding: encodings[encodingIndex], slots: slots)
  }

  func store(in cache: DerivedIndexCache, fingerprint: UInt64) {
    let encodingIndex = Self.encodings.firstIndex(of: encoding) ?? 0
    cache.store(
      [
        IndexSection.bytes(names.entryStart), IndexSection.bytes(names.entryLength), names.letters,
        IndexSection.bytes(names.hashes), IndexSection.bytes(runtime), IndexSection.bytes(slots),
        IndexSection.bytes([UInt64(names.count), UInt64(names.consumed), UInt64(encodingIndex)]),
      ], key: Self.key, fingerprint: fingerprint)
  }
}

extension KallsymsNames {
  /// Entries computed before (KallsymsIndex), accepted only when every entry lies inside
  /// `names` with at least one token, as the decoding pass guarantees.
  init?(
    names: ByteView, tokens: KallsymsTokens, entryStart: [Int32], entryLength: [UInt16], letters: [UInt8],
    hashes: [UInt64], consumed: Int
  ) {
    let count = letters.count
    guard entryStart.count == count, entryLength.count == count, hashes.count == count,
      consumed >= 0, consumed <= names.count
    else { return nil }
    for i in 0..<count {
      let start = Int(entryStart[i])
      let length = Int(entryLength[i])
      guard start >= 0, length > 0, start <= names.count - length else { return nil }
    }
    self.init(
      storing: names, tokens, entryStart: entryStart, entryLength: entryLength, letters: letters, hashes: hashes,
      consumed: consumed)
  }
}
