// Test-only access to the real vmlinux: where it is (KDIG_TEST_VMLINUX, else the vmlinux of
// the 6.12 QEMU sample in the sample manifest that Samples/make-samples.sh writes), its ELF
// symbols and the initialised bytes of its data (PT_LOAD segments), so values can be printed
// from the file the way gdb prints them.
// A minimal ELF64 reader (section headers, .symtab, program headers), bounds-checked.

import Foundation
import KdigBinary
import KdigTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

enum TypesTestVmlinux {
  /// The sample whose vmlinux these tests read (Debian 6.12.107 cloud).
  static let sampleName = "6.12-qemu-elf"
  /// The build these tests' expected numbers come from.
  static let buildID = "d74ef9d763bbd2561619db994071f549808d2ce1"

  /// The vmlinux to test against. Missing is a failure, never a silent skip.
  static func path() throws -> String {
    if let env = getenv("KDIG_TEST_VMLINUX").map({ String(cString: $0) }), !env.isEmpty {
      guard access(env, R_OK) == 0 else {
        throw TypesTestSetupError("KDIG_TEST_VMLINUX=\(env) is not a readable file")
      }
      return env
    }
    return try sampleVmlinux(sampleName)
  }

  /// The vmlinux the manifest records for sample `name`; an error saying how to build it.
  static func sampleVmlinux(_ name: String) throws -> String {
    let sample = try Samples.named(name)
    guard access(sample.vmlinux, R_OK) == 0 else {
      throw TypesTestSetupError(
        "the vmlinux of sample \(name) (\(sample.vmlinux)) is missing: run "
          + "`bash Samples/make-samples.sh` (or set KDIG_TEST_VMLINUX)")
    }
    return sample.vmlinux
  }

  /// A fresh, empty directory for a type index, under the system's temporary directory.
  static func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("kdig-types-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
  }
}

struct TypesTestSetupError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

/// Symbols and initialised data of an ELF64 little-endian file.
final class TypesTestELF {
  struct Symbol {
    var name: String
    var value: UInt64
    var size: UInt64
  }

  let file: MappedFile
  private(set) var symbols: [String: Symbol] = [:]
  private var sortedByAddress: [Symbol] = []
  private var loads: [(vaddr: UInt64, offset: UInt64, size: UInt64, memorySize: UInt64)] = []

  init(path: String) throws {
    file = try MappedFile(path: path)
    let v = file.wholeView
    let phoff = Int(try v.u64(0x20, "e_phoff"))
    let shoff = Int(try v.u64(0x28, "e_shoff"))
    let phnum = Int(try v.u16(0x38, "e_phnum"))
    let shnum = Int(try v.u16(0x3c, "e_shnum"))
    for i in 0..<phnum {
      let ph = phoff + i * 56
      if try v.u32(ph, "p_type") == 1 {
        loads.append(
          (
            try v.u64(ph + 16, "p_vaddr"), try v.u64(ph + 8, "p_offset"),
            try v.u64(ph + 32, "p_filesz"),
            try v.u64(ph + 40, "p_memsz")
          ))
      }
    }
    for i in 0..<shnum {
      let sh = shoff + i * 64
      guard try v.u32(sh + 4, "sh_type") == 2 else { continue }  // SHT_SYMTAB
      let offset = Int(try v.u64(sh + 24, "sh_offset"))
      let size = Int(try v.u64(sh + 32, "sh_size"))
      let link = Int(try v.u32(sh + 40, "sh_link"))
      let strOffset = Int(try v.u64(shoff + link * 64 + 24, "strtab sh_offset"))
      for s in stride(from: offset, to: offset + size, by: 24) {
        let type = try v.u8(s + 4, "st_info") & 0xf
        guard type == 1 else { continue }  // STT_OBJECT
        let nameOffset = Int(try v.u32(s, "st_name"))
        let name = String(
          cString: Array(try v.array(strOffset + nameOffset, 128, "name").prefix { $0 != 0 }) + [0])
        let sym = Symbol(
          name: name, value: try v.u64(s + 8, "st_value"), size: try v.u64(s + 16, "st_size"))
        if symbols[name] == nil { symbols[name] = sym }
        sortedByAddress.append(sym)
      }
    }
    sortedByAddress.sort { $0.value < $1.value }
  }

  /// `name` or `name+offset` (decimal, as gdb prints) for an address inside an object.
  func symbolize(_ address: UInt64) -> String? {
    var best: Symbol?
    for s in sortedByAddress where s.value <= address && address < s.value + max(1, s.size) {
      if s.value >= (best?.value ?? 0) { best = s }
    }
    guard let best else { return nil }
    return address == best.value ? best.name : "\(best.name)+\(address - best.value)"
  }

  /// The bytes at link-time address `address` as the file initialises them (zeros for
  /// .bss, as gdb shows them without a running kernel).
  func read(_ address: UInt64, _ count: Int) throws -> [UInt8] {
    for l in loads where address >= l.vaddr && address - l.vaddr + UInt64(count) <= l.size {
      return try file.wholeView.array(
        Int(l.offset + address - l.vaddr), count, "data at \(hex0x(address))")
    }
    for l in loads
    where address >= l.vaddr + l.size && address - l.vaddr + UInt64(count) <= l.memorySize {
      return [UInt8](repeating: 0, count: count)
    }
    throw TypesTestSetupError("\(hex0x(address)) (+\(count)) is not initialised data in the file")
  }
}
