// Builds kallsyms tables the way scripts/kallsyms.c lays them out (token table and index,
// compressed names with 1- or 2-byte lengths, offsets + relative base or absolute
// addresses) inside a fake kernel memory, for KallsymsTable tests without a dump.

import KdigBinary
import KdigKernel
import KdigTranslation

/// Kernel virtual memory made of a few byte ranges.
final class FakeKernelMemory: VirtualMemory {
  struct Unmapped: Error {}
  var regions: [(start: UInt64, bytes: [UInt8])] = []

  func translate(_ virtualAddress: UInt64) throws -> UInt64 { virtualAddress }

  func read(_ virtualAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
    for r in regions where virtualAddress >= r.start && virtualAddress - r.start <= UInt64(r.bytes.count) {
      let from = Int(virtualAddress - r.start)
      guard buffer.count <= r.bytes.count - from else { throw Unmapped() }
      for i in 0..<buffer.count { buffer[i] = r.bytes[from + i] }
      return
    }
    throw Unmapped()
  }
}

/// One symbol to encode.
struct FakeSymbol {
  var letter: Character
  var name: String
  var address: UInt64
}

/// kallsyms tables for `symbols` (sorted by address, as the kernel sorts them).
struct KallsymsBuilder {
  enum Encoding { case relative, absolutePercpu, absolute }

  /// Token 0 is "tfo" (a type letter with the start of a name, as real token tables have);
  /// token n > 0 is the single byte n.
  static let multiToken: [UInt8] = Array("tfo".utf8)

  var symbols: [FakeSymbol]
  var encoding: Encoding = .absolutePercpu
  var base: UInt64 = 0xffff_ffff_8200_0000
  var relativeBase: UInt64 = 0xffff_ffff_8100_0000

  /// The token numbers of `text` (greedy: token 0 where "tfo" starts, else one byte each).
  static func compress(_ text: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while i < text.count {
      if text.count - i >= 3, Array(text[i..<(i + 3)]) == multiToken {
        out.append(0)
        i += 3
      } else {
        out.append(text[i])
        i += 1
      }
    }
    return out
  }

  /// kallsyms_names: per symbol a length (1 byte, or 2 with the high bit set) and tokens.
  func names() -> [UInt8] {
    var out: [UInt8] = []
    for s in symbols {
      let tokens = Self.compress(Array(String(s.letter).utf8) + Array(s.name.utf8))
      if tokens.count < 0x80 {
        out.append(UInt8(tokens.count))
      } else {
        out.append(UInt8(tokens.count & 0x7f) | 0x80)
        out.append(UInt8(tokens.count >> 7))
      }
      out += tokens
    }
    return out
  }

  func tokenTable() -> (table: [UInt8], index: [UInt8]) {
    var table: [UInt8] = []
    var index: [UInt8] = []
    for n in 0..<256 {
      index += [UInt8(table.count & 0xff), UInt8(table.count >> 8)]
      table += n == 0 ? Self.multiToken : [UInt8(n)]
      table.append(0)
    }
    return (table, index)
  }

  func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

  func offsets() -> [UInt8] {
    var out: [UInt8] = []
    for s in symbols {
      switch encoding {
      case .relative:
        out += le(UInt32(truncatingIfNeeded: s.address &- relativeBase))
      case .absolutePercpu:
        // Per-cpu offsets (below the kernel half) are stored as themselves; the rest as
        // -(address - base) - 1 (scripts/kallsyms.c, --absolute-percpu).
        if s.address < 0x8000_0000 {
          out += le(Int32(s.address))
        } else {
          out += le(Int32(-Int64(s.address &- relativeBase) - 1))
        }
      case .absolute:
        out += le(s.address)
      }
    }
    return out
  }

  /// The memory and the VMCOREINFO text announcing the tables.
  func build() -> (memory: FakeKernelMemory, vmcoreinfo: VMCoreInfo) {
    let (table, index) = tokenTable()
    let sections: [(String, [UInt8])] = [
      ("kallsyms_num_syms", le(UInt32(symbols.count))),
      ("kallsyms_names", names()),
      ("kallsyms_markers", [UInt8](repeating: 0, count: 8)),
      ("kallsyms_token_table", table),
      ("kallsyms_token_index", index),
      (encoding == .absolute ? "kallsyms_addresses" : "kallsyms_offsets", offsets()),
    ] + (encoding == .absolute ? [] : [("kallsyms_relative_base", le(relativeBase))])
    var bytes: [UInt8] = []
    var text = ""
    for (name, content) in sections {
      while bytes.count % 8 != 0 { bytes.append(0) }
      if name != "kallsyms_markers" {
        text += "SYMBOL(\(name))=\(String(base + UInt64(bytes.count), radix: 16))\n"
      }
      bytes += content
    }
    let memory = FakeKernelMemory()
    memory.regions = [(base, bytes + [UInt8](repeating: 0, count: 64))]
    return (memory, VMCoreInfo(text: text))
  }
}
