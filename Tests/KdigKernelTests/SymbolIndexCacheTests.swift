// The per-build copy of the vmlinux's symbol name index (SymbolIndexCache): the first open
// builds and keeps it, the next maps it and answers the same for every name; a damaged copy
// (random slots, no empty slot, wrong size) never gives a wrong symbol or a hang.

import Foundation
import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct SymbolIndexCacheTests {
  static func table(_ vmlinux: VmlinuxFile, root: String) throws -> SymbolTable {
    let symtab = try #require(vmlinux.sections.first { $0.type == VmlinuxFile.SHT_SYMTAB })
    return try SymbolTable(
      symbols: try vmlinux.contents(of: symtab), strings: try vmlinux.contents(of: vmlinux.sections[Int(symtab.link)]),
      sections: vmlinux.sections, buildID: vmlinux.buildID, cacheRoot: root)
  }

  static let names = ["init_mm", "idt_table", "jiffies", "panic", "__per_cpu_offset", "no_such_symbol_kdig", "_text"]

  @Test func keptMappedAndEqual() throws {
    let vmlinux = try VmlinuxFile(path: try TypesTestVmlinux.path())
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-symidx-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let built = try Self.table(vmlinux, root: root)
    #expect(!built.loadedFromCache)
    let mapped = try Self.table(vmlinux, root: root)
    #expect(mapped.loadedFromCache)
    for name in Self.names { #expect(mapped.lookup(name) == built.lookup(name), "\(name)") }
    #expect(!built.lookup("init_mm").isEmpty && built.lookup("no_such_symbol_kdig").isEmpty)
    // Every 97th symbol by name: the mapped copy finds exactly what the built index finds.
    for i in stride(from: 1, to: built.count, by: 97) {
      let name = built.symbol(at: i).name
      guard !name.isEmpty else { continue }
      #expect(mapped.lookup(name) == built.lookup(name), "\(name)")
    }
  }

  @Test func damagedCopyIsHarmless() throws {
    let vmlinux = try VmlinuxFile(path: try TypesTestVmlinux.path())
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-symidx-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let truth = try Self.table(vmlinux, root: root)
    let dir = root + "/symbols"
    let file = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first)
    let path = dir + "/" + file
    var bytes = try #require(FileManager.default.contents(atPath: path).map { Array($0) })
    // Every slot names some symbol (no empty slot: an unbounded probe would never end), and
    // none is where the hash puts it.
    var g = SystemRandomNumberGenerator()
    for o in stride(from: 16, to: bytes.count, by: 4) {
      let v = UInt32.random(in: 1...UInt32(truth.count + 1000), using: &g)
      withUnsafeBytes(of: v.littleEndian) { bytes.replaceSubrange(o..<(o + 4), with: $0) }
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let damaged = try Self.table(vmlinux, root: root)
    #expect(damaged.loadedFromCache)
    for name in Self.names {
      // Found or not, never another symbol's answer.
      #expect(damaged.lookup(name).allSatisfy { $0.name == name })
    }
    // A copy of the wrong size is not used.
    try Data(bytes.dropLast(4)).write(to: URL(fileURLWithPath: path))
    #expect(!(try Self.table(vmlinux, root: root)).loadedFromCache)
  }

  @Test func addressIndexKeptAndChecked() throws {
    let vmlinux = try VmlinuxFile(path: try TypesTestVmlinux.path())
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-symidx-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let built = try Self.table(vmlinux, root: root)
    let text = try #require(built.first("_text")).value
    let probes = (0..<2000).map { text &+ UInt64($0) &* 7919 }
    // Four lookups: the first three by scan, the fourth builds (and keeps) the index.
    let truth = probes.map { built.symbolize(linkAddress: $0).map { "\($0.symbol.name)+\($0.offset)" } }
    #expect(!built.addressIndexFromCache)
    let cached = try Self.table(vmlinux, root: root)
    #expect(probes.map { cached.symbolize(linkAddress: $0).map { "\($0.symbol.name)+\($0.offset)" } } == truth)
    #expect(cached.addressIndexFromCache)
    // One entry moved to another symbol's address: the copy is refused and rebuilt.
    let dir = root + "/symbols"
    let file = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".addrs") })
    var bytes = try #require(FileManager.default.contents(atPath: dir + "/" + file).map { Array($0) })
    bytes[16 + 16 * 500] ^= 0x10
    try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + file))
    let refused = try Self.table(vmlinux, root: root)
    #expect(probes.map { refused.symbolize(linkAddress: $0).map { "\($0.symbol.name)+\($0.offset)" } } == truth)
    #expect(!refused.addressIndexFromCache)
  }
}
