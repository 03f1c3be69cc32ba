// ORC tables: `u64 link address of .orc_unwind_ip, u8 format (bit 0: before v6.4), then
// .orc_unwind_ip and .orc_unwind`, split where the counts agree (4 + 6 bytes an entry) as
// the vmlinux's sections do; then orc_find-style lookups around the entries' own ips.

import KdigBinary
import KdigKernel
import KdigX86

enum ORCTarget {
  static func run(_ bytes: [UInt8]) throws {
    var cursor = FuzzCursor(bytes)
    let base = cursor.u64()
    let format: ORCFormat = cursor.u8() & 1 == 0 ? .v6_4 : .beforeV6_4
    let rest = cursor.rest()
    let count = rest.count / (4 + ORCFormat.size)
    let ipBytes = count * 4
    let ips = ByteView.copying(Array(rest[0..<ipBytes]), file: "fuzz .orc_unwind_ip", fileOffset: 0)
    let entries = ByteView.copying(
      Array(rest[ipBytes..<(ipBytes + count * ORCFormat.size)]), file: "fuzz .orc_unwind", fileOffset: 0)
    let table = try ORCTable(ipSection: ips, ipBase: base, entrySection: entries, format: format)
    var probes: [UInt64] = [0, .max, base, base &+ 0x100_0000]
    for i in Set([0, 1, count / 2, count - 1]).sorted() where i >= 0 && i < count {
      if let ip = try? table.linkIP(i) { probes += [ip, ip &- 1, ip &+ 1] }
    }
    for ip in probes { _ = try? table.entry(forLinkIP: ip) }
    guard count > 0, try table.entry(forLinkIP: try table.linkIP(0)) != nil else { throw ORCEmpty() }
  }
}

/// Replays: the table held no entry, or no entry covers the first entry's own ip.
struct ORCEmpty: Error, CustomStringConvertible {
  var description: String { "no ORC entry found for the first entry's ip" }
}
