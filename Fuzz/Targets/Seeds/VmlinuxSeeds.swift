// Seeds cut from a vmlinux: a BTF blob holding the closure of the types the analyzers ask
// for (BTFSubset), and ORC tables of a few hundred entries from the start and the middle.

import KdigBinary
import KdigKernel

enum VmlinuxSeeds {
  typealias Seed = (FuzzTarget, String, [UInt8])

  /// `kernel` names the seeds ("6.12"); 6.1 has the ORC layout before v6.4.
  static func cut(vmlinux path: String, kernel: String) throws -> [Seed] {
    var seeds: [Seed] = []
    let btf = try readBTFSection(fromELF: path).withUnsafeBytes { Array($0) }
    if let subset = BTFSubset(btf)?.encode(roots: BTFSubset.roots) { seeds.append((.btf, "\(kernel)-subset.btf", subset)) }
    let file = try VmlinuxFile(path: path)
    if let ip = file.section(".orc_unwind_ip"), let entries = file.section(".orc_unwind") {
      let ips = try file.contents(of: ip).withUnsafeBytes { Array($0) }
      let orc = try file.contents(of: entries).withUnsafeBytes { Array($0) }
      let count = ips.count / 4
      let format: UInt8 = kernel == "6.1" ? 1 : 0  // struct orc_entry before v6.4
      for (name, start) in [("head", 0), ("middle", count / 2)] where count > 0 {
        let n = min(400, count - start)
        var out: [UInt8] = []
        out.append(le: ip.address + UInt64(4 * start))
        out.append(format)
        out += ips[(4 * start)..<(4 * (start + n))]
        out += orc[(6 * start)..<(6 * (start + n))]
        seeds.append((.orc, "\(kernel)-\(name).orc", out))
      }
    }
    return seeds
  }
}
