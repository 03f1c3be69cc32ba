// The kernel's ORC unwind tables from the vmlinux file: .orc_unwind_ip (sorted, each entry a
// 32-bit offset relative to its own address: ip = &entry + value) and .orc_unwind (one
// struct orc_entry per ip), as arch/x86/kernel/unwind_orc.c's orc_find() searches them.
// The struct orc_entry layout comes from DWARF (the `signal` member since v6.4, `end` before).

import KdigBinary
import KdigX86

/// The vmlinux's ORC table.
public final class ORCTable {
  public let format: ORCFormat
  let ipSection: ByteView
  let entrySection: ByteView
  /// Link address of .orc_unwind_ip.
  let ipBase: UInt64
  public let count: Int
  package init(ipSection: ByteView, ipBase: UInt64, entrySection: ByteView, format: ORCFormat) throws {
    guard ipSection.count % 4 == 0, entrySection.count == ipSection.count / 4 * ORCFormat.size else {
      throw KernelImageError(
        .badVmlinux,
        ".orc_unwind_ip (\(ipSection.count) bytes) and .orc_unwind (\(entrySection.count) bytes) do not hold the same number of entries")
    }
    self.ipSection = ipSection
    self.entrySection = entrySection
    self.ipBase = ipBase
    self.format = format
    count = ipSection.count / 4
  }

  /// The link address entry `i` covers: its own address plus the stored 32-bit offset.
  package func linkIP(_ i: Int) throws -> UInt64 {
    let rel = Int32(bitPattern: try ipSection.u32(i * 4, "orc_unwind_ip[\(i)]"))
    return (ipBase &+ UInt64(i * 4)) &+ UInt64(bitPattern: Int64(rel))
  }

  /// The entry covering link address `ip`: the last one whose ip ≤ `ip` (orc_find), by a
  /// binary search over the mapped section (nothing is decoded ahead: ~20 reads a lookup).
  public func entry(forLinkIP ip: UInt64) throws -> ORCEntry? {
    var lo = 0
    var hi = count
    while lo < hi {
      let mid = (lo + hi) / 2
      if try linkIP(mid) <= ip { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return nil }
    let bytes = try entrySection.slice((lo - 1) * ORCFormat.size, ORCFormat.size, "orc_unwind entry").withUnsafeBytes { Array($0) }
    return try ORCEntry(bytes: bytes, format: format)
  }
}

extension KernelImage {
  /// The vmlinux's ORC table, read on first use. Without a vmlinux, the dump's own copy
  /// (dumpORCTable below).
  public func orcTable() throws -> ORCTable {
    if let cachedORC { return cachedORC }
    guard let vmlinux else {
      let table = try dumpORCTable()
      cachedORC = table
      return table
    }
    guard let ip = vmlinux.section(".orc_unwind_ip"), let entries = vmlinux.section(".orc_unwind") else {
      throw KernelImageError(.badVmlinux, "\(vmlinux.path) has no .orc_unwind_ip/.orc_unwind (a kernel without CONFIG_UNWINDER_ORC)")
    }
    let table = try ORCTable(
      ipSection: try vmlinux.contents(of: ip), ipBase: ip.address, entrySection: try vmlinux.contents(of: entries),
      format: try orcFormat())
    cachedORC = table
    return table
  }

  /// No-vmlinux mode (docs/no-vmlinux.md): the same two tables as the kernel keeps them in
  /// memory (read-only data, never freed), bounded by the linker symbols kallsyms keeps;
  /// read through the per-build copy when there is one (RegionCache.swift).
  /// The ip entries are self-relative, so with the link address of __start_orc_unwind_ip as
  /// the base they give link-time ips, exactly as the vmlinux sections do.
  func dumpORCTable() throws -> ORCTable {
    let symbols = try symbols()
    let names = ["__start_orc_unwind_ip", "__stop_orc_unwind_ip", "__start_orc_unwind", "__stop_orc_unwind"]
    let found = names.compactMap { symbols.first($0) }
    guard found.count == 4 else {
      throw KernelImageError(
        .vmlinuxNotFound,
        "the dump's kallsyms has no \(names.joined(separator: "/")): a kernel without CONFIG_UNWINDER_ORC "
          + "(give --vmlinux)")
    }
    let ipStart = runtimeAddress(found[0])
    let entryStart = runtimeAddress(found[2])
    guard found[1].value >= found[0].value, found[3].value >= found[2].value,
      found[1].value - found[0].value <= UInt64(Self.maxORCBytes), found[3].value - found[2].value <= UInt64(Self.maxORCBytes)
    else {
      throw KallsymsError(.corrupt, "the dump's ORC table bounds (kallsyms __start/__stop_orc_unwind*) are reversed or too large")
    }
    let regions = regionReader
    let ips = try regions.region(
      at: ipStart, count: Int(found[1].value - found[0].value), key: "orc_unwind_ip", ".orc_unwind_ip")
    let entries = try regions.region(
      at: entryStart, count: Int(found[3].value - found[2].value), key: "orc_unwind", ".orc_unwind")
    return try ORCTable(ipSection: ips, ipBase: found[0].value, entrySection: entries, format: try orcFormat())
  }

  /// A vmlinux's ORC tables are a few MiB; more than this between the bounds is damage.
  static let maxORCBytes = 64 << 20

  /// struct orc_entry's bit layout from DWARF; the v6.4 layout when it is missing.
  func orcFormat() throws -> ORCFormat {
    guard let t = try? types(), let e = try? t.completed(try t.type(named: "struct orc_entry")).aggregate else {
      return .v6_4
    }
    func bit(_ name: String) -> Int? { e.member(named: name)?.bitOffset }
    guard let sp = bit("sp_reg"), let bp = bit("bp_reg"), let type = bit("type"),
      let width = e.member(named: "type")?.bitSize
    else { return .v6_4 }
    if let signal = bit("signal") {
      return ORCFormat(spRegBit: sp, bpRegBit: bp, typeBit: type, typeWidth: width, flagBit: signal, hasSignal: true)
    }
    return ORCFormat(spRegBit: sp, bpRegBit: bp, typeBit: type, typeWidth: width, flagBit: bit("end") ?? type + width, hasSignal: false)
  }
}
