// Type ids by name for a BTF blob, built in one pass on first lookup. A single linear scan
// answers one lookup in ~0.5 ms, which was enough while BTF was a side source; without a
// vmlinux the dump's BTF answers every type question (a `bt` asks dozens), so the ids are
// hashed by name once (FNV-1a over the string section, in place) and each lookup probes.

import KdigBinary

/// Open-addressing table: slot → type id (0 is empty), keyed by the hash of the type's name.
struct BTFNameIndex {
  let slots: [UInt32]

  /// Slots computed before from the same bytes (DumpBTF.swift), when their shape fits
  /// `typeCount` types. Their ids are not checked here: BTFTypes.lookupID skips an id past
  /// the table, compares names and reads records bounds-checked.
  init?(slots: [UInt32], typeCount: Int) {
    guard slots.count >= 2, slots.count & (slots.count - 1) == 0, slots.count >= 2 * typeCount else { return nil }
    self.slots = slots
  }

  init(_ layout: BTFLayout) {
    let count = layout.recordOffsets.count
    var size = 2
    while size < count * 2 { size <<= 1 }
    var slots = [UInt32](repeating: 0, count: size)
    let mask = size - 1
    layout.types.withUnsafeBytes { types in
      layout.strings.withUnsafeBytes { strings in
        for i in 0..<count {
          // Record offsets were checked by BTFLayout.walk: 12 bytes fit at each.
          let o = Int(layout.recordOffsets[i])
          guard o <= types.count - 4 else { continue }
          let nameOffset = Int(UInt32(littleEndian: types.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
          guard nameOffset != 0, nameOffset < strings.count else { continue }
          var h: UInt64 = 0xcbf2_9ce4_8422_2325
          var p = nameOffset
          // The string section ends with NUL (BTFLayout checked), so the scan stops inside it.
          while p < strings.count, strings[p] != 0 {
            h = (h ^ UInt64(strings[p])) &* 0x100_0000_01b3
            p += 1
          }
          var at = Int(truncatingIfNeeded: h) & mask
          // Twice as many slots as types: a free one is always found.
          while slots[at] != 0 { at = (at + 1) & mask }
          slots[at] = UInt32(i + 1)
        }
      }
    }
    self.slots = slots
  }

  /// Ids of the types whose name hashes like `name` (callers compare the name itself).
  func candidates(_ name: [UInt8]) -> [UInt32] {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in name { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    let mask = slots.count - 1
    var at = Int(truncatingIfNeeded: h) & mask
    var found: [UInt32] = []
    // At most one lap: loaded slots are checked for ids, not for a free slot.
    while slots[at] != 0, found.count < slots.count {
      found.append(slots[at])
      at = (at + 1) & mask
    }
    return found
  }
}
