// Where the kernel's kallsyms tables sit in memory. VMCOREINFO announces them for tools
// that have no vmlinux (kernel/vmcore_info.c since v6.0: SYMBOL(kallsyms_names),
// kallsyms_num_syms, kallsyms_token_table, kallsyms_token_index, and kallsyms_offsets with
// kallsyms_relative_base under CONFIG_KALLSYMS_BASE_RELATIVE, else kallsyms_addresses).
// The addresses are runtime addresses (KASLR included), as the kernel recorded them.

import KdigBinary

/// The runtime addresses of the kallsyms tables.
public struct KallsymsLocation: Sendable, Equatable {
  /// How a symbol's address is stored.
  public enum Addressing: Sendable, Equatable {
    /// CONFIG_KALLSYMS_BASE_RELATIVE: `int kallsyms_offsets[]` and `kallsyms_relative_base`.
    case relative(offsets: UInt64, base: UInt64)
    /// Older kernels: `unsigned long kallsyms_addresses[]`.
    case absolute(addresses: UInt64)
  }

  public var numSyms: UInt64
  public var names: UInt64
  public var tokenTable: UInt64
  public var tokenIndex: UInt64
  public var addressing: Addressing

  public init(numSyms: UInt64, names: UInt64, tokenTable: UInt64, tokenIndex: UInt64, addressing: Addressing) {
    self.numSyms = numSyms
    self.names = names
    self.tokenTable = tokenTable
    self.tokenIndex = tokenIndex
    self.addressing = addressing
  }

  /// The tables VMCOREINFO announces, or an error naming the ones it lacks.
  public static func from(_ info: VMCoreInfo?) throws -> KallsymsLocation {
    guard let info else {
      throw KallsymsError(
        .notAnnounced,
        "the dump has no VMCOREINFO, so kdig cannot find the kernel's kallsyms without a vmlinux (give --vmlinux)")
    }
    let required = ["kallsyms_num_syms", "kallsyms_names", "kallsyms_token_table", "kallsyms_token_index"]
    let missing = required.filter { info.symbol($0) == nil }
    let addressing: Addressing?
    if let offsets = info.symbol("kallsyms_offsets"), let base = info.symbol("kallsyms_relative_base") {
      addressing = .relative(offsets: offsets, base: base)
    } else if let addresses = info.symbol("kallsyms_addresses") {
      addressing = .absolute(addresses: addresses)
    } else {
      addressing = nil
    }
    guard missing.isEmpty, let addressing, let numSyms = info.symbol("kallsyms_num_syms"),
      let names = info.symbol("kallsyms_names"), let tokenTable = info.symbol("kallsyms_token_table"),
      let tokenIndex = info.symbol("kallsyms_token_index")
    else {
      let absent = missing + (addressing == nil ? ["kallsyms_offsets/kallsyms_relative_base or kallsyms_addresses"] : [])
      throw KallsymsError(
        .notAnnounced,
        "VMCOREINFO has no SYMBOL(\(absent.joined(separator: ", "))) (kernels before v6.0 do not record them), "
          + "so kdig cannot find the kernel's kallsyms without a vmlinux (give --vmlinux)")
    }
    return KallsymsLocation(
      numSyms: numSyms, names: names, tokenTable: tokenTable, tokenIndex: tokenIndex, addressing: addressing)
  }

  /// Every table start, for bounding one table by the next (scripts/kallsyms.c emits them
  /// one after another in .rodata).
  var tableStarts: [UInt64] {
    var all = [numSyms, names, tokenTable, tokenIndex]
    switch addressing {
    case .relative(let offsets, let base): all += [offsets, base]
    case .absolute(let addresses): all.append(addresses)
    }
    return all
  }

  /// The nearest table that starts after `address`: the end of the table at `address`.
  func nextTable(after address: UInt64) -> UInt64? {
    tableStarts.filter { $0 > address }.min()
  }
}
