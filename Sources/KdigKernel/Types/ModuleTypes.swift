// The kernel's types, then the loaded modules' (ModuleBTF.swift): a type the vmlinux's
// debug information (DWARF, or the dump's BTF) does not know is looked for in each module's
// split BTF, so `p *(struct fw_cfg_sysfs_entry *)ADDR` works on a module's object with or
// without a vmlinux. Module BTF is read on the first miss, a module's blob is combined with
// the base only when it names the type asked for. References handed out by a module's BTF
// carry a tag (bit 63, the module's slot) so `complete` goes back to the right one.

import KdigBinary
import Synchronization

public final class ModuleTypes: TypeProvider, @unchecked Sendable {
  // @unchecked: `loader` and `state` are only touched under `lock`.
  public let primary: any TypeProvider
  public var source: String { primary.source }
  private let lock = Mutex(())
  private var loader: (() throws -> ModuleBTFSources)?
  private var state = State()

  /// What the loader finds: the base BTF and every module's name and raw bytes.
  public struct ModuleBTFSources {
    public var base: BTFTypes
    public var modules: [(name: String, bytes: ByteView)]
  }

  private struct State {
    var loading = false
    var sources: ModuleBTFSources?
    var failure: String?
    var built: [Int: BTFTypes] = [:]
  }

  static let tagBit: UInt64 = 1 << 63

  public init(primary: any TypeProvider, loader: @escaping () throws -> ModuleBTFSources) {
    self.primary = primary
    self.loader = loader
  }

  public func findType(_ query: TypeQuery) throws -> KernelType? {
    if let t = try primary.findType(query) { return t }
    guard let sources = loadSources() else { return nil }
    let wanted = Array(query.name.utf8)
    for (slot, m) in sources.modules.enumerated()
    where BTFTypes.splitNames(wanted, in: m.bytes, baseStrings: sources.base.layout.strings.count) {
      if let t = try module(slot, sources)?.findType(query) { return t }
    }
    return nil
  }

  public func findVariableType(_ name: String, address: UInt64?) throws -> KernelType? {
    try primary.findVariableType(name, address: address)
  }

  public func findEnumerator(_ name: String) throws -> (type: EnumType, enumerator: Enumerator)? {
    try primary.findEnumerator(name)
  }

  public func complete(_ aggregate: Aggregate) throws -> Aggregate {
    guard aggregate.members == nil, let raw = aggregate.ref?.raw, raw & Self.tagBit != 0 else {
      return try primary.complete(aggregate)
    }
    let slot = Int((raw & ~Self.tagBit) >> 32) - 1
    guard let sources = loadSources(), let btf = try module(slot, sources) else {
      throw KernelTypeError(file: source, "\(aggregate.displayName) came from a module's BTF that is no longer at hand")
    }
    return try btf.complete(aggregate)
  }

  /// Why module types are not available, when reading them failed (for errors and `info`).
  public var moduleFailure: String? { lock.withLock { _ in state.failure } }

  /// The module BTF sources, read once; nil while they are being read (the loader itself
  /// asks for types, which the primary answers) or when they could not be read.
  private func loadSources() -> ModuleBTFSources? {
    let load: (() throws -> ModuleBTFSources)? = lock.withLock { _ in
      if state.sources != nil || state.loading || loader == nil { return nil }
      state.loading = true
      return loader
    }
    if let load {
      let result = Result { try load() }
      lock.withLock { _ in
        state.loading = false
        loader = nil
        switch result {
        case .success(let s): state.sources = s
        case .failure(let e): state.failure = "\(e)"
        }
      }
    }
    return lock.withLock { _ in state.sources }
  }

  /// Module `slot`'s types on top of the base, built once.
  private func module(_ slot: Int, _ sources: ModuleBTFSources) throws -> BTFTypes? {
    guard sources.modules.indices.contains(slot) else { return nil }
    if let b = lock.withLock({ _ in state.built[slot] }) { return b }
    let m = sources.modules[slot]
    let btf = try BTFTypes.split(
      m.bytes, base: sources.base, source: "BTF of module \(m.name)", refTag: Self.tagBit | UInt64(slot + 1) << 32)
    lock.withLock { _ in state.built[slot] = btf }
    return btf
  }
}
