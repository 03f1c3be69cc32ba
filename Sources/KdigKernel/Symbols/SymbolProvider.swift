// The one interface analyzers see for kernel symbols, whether they come from the vmlinux's
// ELF .symtab (SymbolTable) or from the kallsyms tables inside the dump (KallsymsTable).
// Both answer with ElfSymbol values at link-time addresses (before KASLR), so
// KernelImage.runtimeAddress and every caller work the same with either source.

/// Kernel symbols by name and by address.
public protocol SymbolProvider: AnyObject {
  /// Where the symbols come from, for `info` and error messages.
  var source: String { get }
  /// Number of symbols.
  var count: Int { get }
  /// False when sizes are inferred (kallsyms: distance to the next symbol) rather than
  /// recorded by the linker (ELF st_size): padding counts as part of the symbol then.
  var sizesAreExact: Bool { get }
  /// Every symbol called `name`, globals first.
  func lookup(_ name: String) -> [ElfSymbol]
  /// The preferred symbol called `name` (a global, else the first local).
  func first(_ name: String) -> ElfSymbol?
  /// The symbol at or below link-time `address`, with the offset into it.
  func symbolize(linkAddress address: UInt64) -> (symbol: ElfSymbol, offset: UInt64)?
}

extension SymbolProvider {
  public func first(_ name: String) -> ElfSymbol? { lookup(name).first }
}

extension SymbolTable: SymbolProvider {
  public var source: String { "ELF .symtab of the vmlinux" }
  public var sizesAreExact: Bool { true }
}
