// `sym`: a symbol name to its runtime address, or an address to `name+0xoff`.

import KdigBinary
import KdigKernel

/// One resolved symbol.
public struct SymbolAnswer: Sendable, Encodable {
  public var address: Hex64
  public var name: String
  /// Offset of `address` into the symbol (0 for an exact match).
  public var offset: UInt64
  /// nm-style type letter.
  public var type: String
  public var size: UInt64
  /// `name` or `name+0xoff`, and ` [module]` for a module's symbol (as crash shows it).
  public var display: String
  /// The module the symbol belongs to (from the module's own kallsyms).
  public var module: String?
}

/// Resolves names and addresses against the vmlinux or the dump's kallsyms, relocated by KASLR.
public struct SymbolQuery {
  public let kernel: KernelImage

  public init(kernel: KernelImage) { self.kernel = kernel }

  /// Every symbol called `name`.
  public func byName(_ name: String) throws -> [SymbolAnswer] {
    let matches = try kernel.symbols().lookup(name)
    guard !matches.isEmpty else {
      throw KernelImageError(.unknownSymbol, "sym: \(name): no such symbol in \(kernel.vmlinux?.path ?? "the dump's kallsyms")")
    }
    return matches.map { s in
      SymbolAnswer(
        address: Hex64(kernel.runtimeAddress(s)), name: s.name, offset: 0, type: String(s.letter),
        size: s.size, display: s.name)
    }
  }

  /// The symbol containing runtime `address`.
  public func byAddress(_ address: UInt64) throws -> SymbolAnswer {
    _ = try kernel.symbols()
    if let (s, off, module) = kernel.moduleSymbol(at: address) {
      return SymbolAnswer(
        address: Hex64(address), name: s.name, offset: off, type: String(s.letter), size: s.size,
        display: symbolDisplay(s.name, offset: off, module: module), module: module)
    }
    guard let (s, off) = kernel.symbolize(address) else {
      throw KernelImageError(.unknownSymbol, "sym: 0x\(hex(address)): no symbol at or below this address")
    }
    return SymbolAnswer(
      address: Hex64(address), name: s.name, offset: off, type: String(s.letter), size: s.size,
      display: symbolDisplay(s.name, offset: off))
  }
}
