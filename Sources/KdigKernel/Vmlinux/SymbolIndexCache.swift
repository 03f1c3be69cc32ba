// The name and address indexes of a vmlinux's .symtab, kept per build:
// ${KDIG_CACHE:-$HOME/.cache/kdig}/symbols/<build-id>-<symbols>-<strtab bytes>.names|.addrs.
// Hashing ~190k names, and sorting the symbols by address, are most of a short command's
// start-up; both depend only on the file, so they are built once and read afterwards.
// .names is "KDIGSYM1", the slot count (u64), then the slots (u32 symbol indices, 0 =
// empty), mapped as is: a damaged slot cannot mislead, as every lookup compares the name it
// finds with the one asked for, reads symbols bounds-checked and probes at most the table's
// size. .addrs is "KDIGADR1", the entry count (u64), then {u64 address, u32 index, u32 0}
// entries; SymbolTable.isAddressIndex checks them against the table before use.
// A file of the wrong size is ignored and rebuilt.

import KdigBinary

struct SymbolIndexCache {
  static let magic = Array("KDIGSYM1".utf8)
  static let addressMagic = Array("KDIGADR1".utf8)
  let path: String
  var addressPath: String { String(path.dropLast(".names".count)) + ".addrs" }

  init?(buildID: String?, symbols: Int, stringBytes: Int, root explicitRoot: String? = nil) {
    guard CacheDirectory.isBuildID(buildID), let buildID, let root = explicitRoot ?? CacheDirectory.root else { return nil }
    path = "\(root)/symbols/\(buildID.lowercased())-\(symbols)-\(stringBytes).names"
  }

  /// The slots, mapped, when the file is whole and large enough for `symbols` names.
  func load(symbols: Int) -> NameSlots? {
    guard let file = try? MappedFile(path: path), file.size >= 16,
      let head = try? file.view(at: 0, count: 16, "symbol index header"), head.matches(Self.magic, at: 0),
      let count = try? head.u64(8, "slot count"), count >= 2, count & (count - 1) == 0, count <= 1 << 30, count >= UInt64(symbols),
      file.size == 16 + 4 * count, let slots = try? file.view(at: 16, count: Int(4 * count), "symbol index")
    else { return nil }
    CacheDirectory.used(path)
    return NameSlots(mapped: slots, count: Int(count))
  }

  /// Writes the slots (best effort: a read-only or full disk costs the next run a rebuild).
  func store(_ slots: [UInt32]) {
    var bytes = Self.magic
    withUnsafeBytes(of: UInt64(slots.count).littleEndian) { bytes += $0 }
    slots.withUnsafeBytes { raw in
      // Little-endian hosts only (kdig is x86-64): the array's bytes are the file's.
      bytes += raw
    }
    if OutputFile.replace(path, with: bytes) { CacheDirectory.stored(path) }
  }
}

extension SymbolIndexCache {
  /// The address entries as stored (unchecked: the caller checks them against the table).
  func loadAddresses() -> [SymbolTable.AddressEntry]? {
    guard let file = try? MappedFile(path: addressPath), file.size >= 16,
      let head = try? file.view(at: 0, count: 16, "address index header"), head.matches(Self.addressMagic, at: 0),
      let count = try? head.u64(8, "entry count"), count <= 1 << 28, file.size == 16 + 16 * count,
      let body = try? file.view(at: 16, count: Int(16 * count), "address index")
    else { return nil }
    return body.withUnsafeBytes { raw in
      (0..<Int(count)).map { i in
        SymbolTable.AddressEntry(
          value: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16 * i, as: UInt64.self)),
          index: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 16 * i + 8, as: UInt32.self)))
      }
    }
  }

  func storeAddresses(_ entries: [SymbolTable.AddressEntry]) {
    var bytes = Self.addressMagic
    bytes.reserveCapacity(16 + 16 * entries.count)
    withUnsafeBytes(of: UInt64(entries.count).littleEndian) { bytes += $0 }
    for e in entries {
      withUnsafeBytes(of: e.value.littleEndian) { bytes += $0 }
      withUnsafeBytes(of: e.index.littleEndian) { bytes += $0 }
      bytes += [0, 0, 0, 0]
    }
    if OutputFile.replace(addressPath, with: bytes) { CacheDirectory.stored(addressPath) }
  }
}

/// The open-addressing name table: built in memory, or mapped from the cache.
struct NameSlots {
  private let mapped: ByteView?
  private let built: [UInt32]
  let count: Int

  init(built: [UInt32]) {
    self.built = built
    mapped = nil
    count = built.count
  }

  init(mapped: ByteView, count: Int) {
    self.mapped = mapped
    built = []
    self.count = count
  }

  subscript(_ i: Int) -> UInt32 {
    if let mapped { return (try? mapped.u32(4 * i)) ?? 0 }
    return i < built.count ? built[i] : 0
  }
}
