// Kernel types from a vmlinux's DWARF through libdw, found lazily by name: a lookup
// first tries the on-disk index (TypeIndexCache; the DIE there is checked), else scans
// top-level DIEs (DWARFScanner) and stops at the first definition, then converts just
// that type (DWARFConverter). Nothing is indexed up front: opening costs libelf's
// section headers and the build-id note.
// Sources: elfutils libdw.h (dwarf_begin_elf, dwarf_offdie, dwarf_nextcu), drgn's
// "libdw error: %s" wrapping (libdrgn/error.c).

import CElfUtils
import KdigBinary
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A `TypeProvider` over the DWARF of a vmlinux.
public final class DWARFTypes: TypeProvider, @unchecked Sendable {
  // @unchecked: libdw handles and the mutable state below are only used under `lock`.

  /// Where the lookup index lives.
  public enum CacheLocation: Sendable {
    /// `${KDIG_CACHE:-$HOME/.cache/kdig}/types/<build-id>.idx`.
    case standard
    /// `<directory>/<build-id>.idx`.
    case directory(String)
    /// No index: every run scans.
    case disabled
  }

  public let source: String
  /// The GNU build-id as lower-case hex, when the file has one.
  public let buildID: String?
  private let elf: ElfImage
  private let dwarf: OpaquePointer
  private let lock = Mutex(())
  private var converter: DWARFConverter
  private var cache: TypeIndexCache
  private var stats = DWARFTypeStatistics()

  /// Opens the DWARF of the ELF file at `path` (cheap: nothing is read yet).
  public convenience init(path: String, cache location: CacheLocation = .standard) throws {
    try self.init(image: try ElfImage(path: path), cache: location)
  }

  /// Opens the DWARF of an opened vmlinux, sharing its libelf handle.
  public convenience init(vmlinux: VmlinuxFile, cache location: CacheLocation = .standard) throws {
    try self.init(image: vmlinux.image, cache: location)
  }

  init(image: ElfImage, cache location: CacheLocation) throws {
    let path = image.path
    source = path
    elf = image
    guard let handle = dwarf_begin_elf(elf.elf, DWARF_C_READ, nil) else {
      throw KernelTypeError(file: path, "no usable DWARF (libdw error: \(libdwMessage()))")
    }
    dwarf = handle
    converter = DWARFConverter(file: path)
    let id = elf.buildID().map { $0.map { hexPadded(UInt64($0), width: 2) }.joined() }
    buildID = id
    let fileSize = typeInfoFileSize(path) ?? 0
    let indexPath: String?
    switch (location, id) {
    case (.standard, let id?): indexPath = TypeIndexCache.defaultPath(buildID: id)
    case (.directory(let dir), let id?): indexPath = "\(dir)/\(id).idx"
    default: indexPath = nil
    }
    cachePath = indexPath
    cache = TypeIndexCache(path: indexPath, buildID: id ?? "", fileSize: fileSize)
  }

  deinit {
    dwarf_end(dwarf)
  }

  /// The index file used (nil when caching is off).
  public let cachePath: String?

  /// Why an existing index file was ignored, if it was.
  public var cacheRejection: String? { lock.withLock { _ in cache.rejection } }

  /// What the lookups so far cost.
  public var statistics: DWARFTypeStatistics { lock.withLock { _ in stats } }

  // MARK: - TypeProvider

  public func findType(_ query: TypeQuery) throws -> KernelType? {
    try lock.withLock { _ throws -> KernelType? in
      guard let die = try locateType(query) else { return nil }
      return try completeLocked(try converter.convert(die, shallow: false))
    }
  }

  public func findVariableType(_ name: String, address: UInt64?) throws -> KernelType? {
    try lock.withLock { _ throws -> KernelType? in
      guard var die = try locateVariable(name, address: address) else { return nil }
      return try completeLocked(try converter.typeOf(&die, shallow: false))
    }
  }

  public func findEnumerator(_ name: String) throws -> (type: EnumType, enumerator: Enumerator)? {
    try lock.withLock { _ throws -> (type: EnumType, enumerator: Enumerator)? in
      let wanted = CName(name)
      let found = try locate(
        "enumerator \(name)", tags: [DWTag.enumerationType],
        verify: { die in DWARFTypes.enumerator(in: &die, named: wanted) },
        scan: { die, _ in
          guard !DIE.isDeclaration(&die), DWARFTypes.enumerator(in: &die, named: wanted) else {
            return .next
          }
          return .stop
        })
      guard let die = found, case .enumeration(let e) = try converter.convert(die, shallow: false),
        let value = e.enumerator(named: name)
      else { return nil }
      return (e, value)
    }
  }

  public func complete(_ aggregate: Aggregate) throws -> Aggregate {
    if aggregate.members != nil { return aggregate }
    return try lock.withLock { _ throws -> Aggregate in try completeAggregateLocked(aggregate) }
  }

  // MARK: - Lookups (callers hold `lock`)

  private func locateType(_ query: TypeQuery) throws -> Dwarf_Die? {
    let tags: [Int32]
    switch query.namespace {
    case .structure: tags = [DWTag.structureType]
    case .union: tags = [DWTag.unionType]
    case .enumeration: tags = [DWTag.enumerationType]
    case .any:
      tags = [
        DWTag.typedef, DWTag.baseType, DWTag.structureType, DWTag.unionType, DWTag.enumerationType,
      ]
    }
    // Base types are spelled the GCC way in DWARF (`long unsigned int`).
    let names = baseTypeSpellings(of: query.name).map(CName.init)
    func named(_ die: inout Dwarf_Die) -> Bool { names.contains { $0.matches(&die) } }
    // Rank: typedef/base type, then struct/union, then enum (as BTFTypes does).
    func rank(_ tag: Int32) -> Int {
      tag == DWTag.typedef || tag == DWTag.baseType
        ? 0 : (tag == DWTag.enumerationType && query.namespace == .any ? 2 : 1)
    }
    var best: (rank: Int, die: Dwarf_Die)?
    var declaration: Dwarf_Die?
    let cached = try locate(
      "\(query.namespace.rawValue) \(query.name)", tags: tags,
      verify: { die in tags.contains(dwarf_tag(&die)) && named(&die) },
      scan: { die, tag in
        guard named(&die) else { return .next }
        if DIE.isDeclaration(&die) {
          if declaration == nil { declaration = die }
          return .next
        }
        let r = rank(tag)
        if r < (best?.rank ?? Int.max) { best = (r, die) }
        return r == 0 || query.namespace != .any ? .stop : .finishUnit
      },
      result: { best?.die ?? declaration })
    return cached
  }

  private func locateVariable(_ name: String, address: UInt64?) throws -> Dwarf_Die? {
    let wanted = CName(name)
    let key = "var \(name)" + (address.map { "@" + hex($0) } ?? "")
    var weak: Dwarf_Die?
    var declared: Dwarf_Die?
    var chosen: Dwarf_Die?
    return try locate(
      key, tags: [DWTag.variable],
      verify: { die in
        guard wanted.matches(&die) else { return false }
        guard let address, let at = DIE.staticAddress(&die) else { return true }
        return at == address
      },
      scan: { die, _ in
        guard wanted.matches(&die) else { return .next }
        // An array of unknown size (`extern pgd_t init_top_pgt[];`, or a definition
        // that only repeats such a declaration) is a last resort: keep looking for the
        // definition that has the size.
        let incomplete = try self.isIncompleteArray(&die)
        if DIE.isDeclaration(&die) {
          if incomplete {
            if declared == nil { declared = die }
            return .next
          }
          chosen = die  // `extern T x;` with a complete T
          return .stop
        }
        let at = DIE.staticAddress(&die)
        if let address, let at, at != address { return .next }  // a different static
        if incomplete || (address != nil && at == nil) {
          if weak == nil { weak = die }
          return .next
        }
        chosen = die
        return .stop
      },
      result: { chosen ?? weak ?? declared })
  }

  private func isIncompleteArray(_ die: inout Dwarf_Die) throws -> Bool {
    if case .array(_, nil) = try converter.typeOf(&die, shallow: true).resolved { return true }
    return false
  }

  /// The DIE for `key`: from the index if the DIE there passes `verify`, else by a scan
  /// whose visitor records candidates and whose `result` picks the answer.
  private func locate(
    _ key: String, tags: [Int32], verify: (inout Dwarf_Die) -> Bool,
    scan visit: (inout Dwarf_Die, Int32) throws -> DWARFScanAction,
    result: () -> Dwarf_Die? = { nil }
  ) throws -> Dwarf_Die? {
    if let entry = cache.entries[key] {
      guard let offset = entry else {
        stats.cacheHits += 1
        return nil
      }
      var die = Dwarf_Die()
      if dwarf_offdie(dwarf, Dwarf_Off(offset), &die) != nil, verify(&die) {
        stats.cacheHits += 1
        return die
      }
      stats.cacheRejects += 1
      cache.remove(key)
    }
    stats.scans += 1
    var stopped: Dwarf_Die?
    try DWARFScanner(dwarf: dwarf, file: source).scan(tags: tags, statistics: &stats) { die, tag in
      let action = try visit(&die, tag)
      if action == .stop { stopped = die }
      return action
    }
    // A visitor that stops without recording a candidate means "this DIE".
    let found = result() ?? stopped
    cache.record(
      key,
      found.map { die in
        var d = die
        return DIE.offset(&d)
      })
    return found
  }

  /// True when `enumDie` has an enumerator called `name`.
  private static func enumerator(in enumDie: inout Dwarf_Die, named name: CName) -> Bool {
    guard dwarf_tag(&enumDie) == DWTag.enumerationType else { return false }
    var next = DIE.firstChild(&enumDie)
    while var child = next {
      if name.matches(&child) { return true }
      next = DIE.nextSibling(&child)
    }
    return false
  }

  // MARK: - Completion (callers hold `lock`)

  /// Loads every struct/union that is part of `type`'s layout (not behind pointers).
  private func completeLocked(_ type: KernelType) throws -> KernelType {
    switch type {
    case .aggregate(let a) where a.members == nil:
      return .aggregate(try completeAggregateLocked(a))
    case .typedef(let name, let target):
      return .typedef(name: name, target: try completeLocked(target))
    case .qualified(let q, let target):
      return .qualified(q, try completeLocked(target))
    case .array(let element, let count):
      return .array(element: try completeLocked(element), count: count)
    default:
      return type
    }
  }

  private func completeAggregateLocked(_ aggregate: Aggregate) throws -> Aggregate {
    if aggregate.members != nil { return aggregate }
    if let ref = aggregate.ref {
      var die = Dwarf_Die()
      if dwarf_offdie(dwarf, Dwarf_Off(ref.raw), &die) != nil, !DIE.isDeclaration(&die),
        case .aggregate(let full) = try converter.convert(die, shallow: false)
      {
        return full
      }
    }
    let ns: TypeQuery.Namespace = aggregate.kind == .union ? .union : .structure
    if let name = aggregate.name, let die = try locateType(TypeQuery(namespace: ns, name: name)),
      case .aggregate(let full) = try converter.convert(die, shallow: false), full.members != nil
    {
      return full
    }
    throw KernelTypeError(
      file: source, "\(aggregate.displayName) is only declared, never defined, in the DWARF")
  }
}

/// GCC's spellings of a canonical base type name, the name itself first.
func baseTypeSpellings(of name: String) -> [String] {
  let gcc: [String: [String]] = [
    "unsigned long": ["long unsigned int"],
    "long": ["long int"],
    "unsigned short": ["short unsigned int"],
    "short": ["short int"],
    "unsigned long long": ["long long unsigned int"],
    "long long": ["long long int"],
    "unsigned __int128": ["__int128 unsigned"],
  ]
  return [name] + (gcc[name] ?? [])
}

/// The size of the file at `path` (`stat`), for the index header: a rebuilt vmlinux with
/// the same build-id but a different size does not reuse the index.
func typeInfoFileSize(_ path: String) -> UInt64? {
  var st = stat()
  guard stat(path, &st) == 0 else { return nil }
  return UInt64(st.st_size)
}
