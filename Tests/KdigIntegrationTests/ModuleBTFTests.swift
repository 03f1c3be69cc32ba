// Module types from the modules' BTF in the dump (KdigKernel/Modules/ModuleBTF.swift,
// Types/ModuleTypes.swift) against drgn 0.3.0 reading the same kernel objects and the
// modules' DWARF from the -dbg package (Samples/oracles/module_btf_drgn.py): the btf_modules
// list (name, first id, first string offset, size) and the bytes (equal to the .BTF
// section of the module file the guest loaded); every struct the module's BTF defines with
// drgn's size and member offsets; and `p` of the qemu_fw_cfg module's own objects, through
// a cast to its type, gives drgn's values — with the vmlinux and without it.

import Foundation
import Kdig
import KdigKernel
import KdigTestSupport
import Testing

@Suite struct ModuleBTFTests {
  /// drgn cannot enumerate the modules of 6.12-kdump-zlib-d31 (a page of the module's
  /// sysfs attributes was filtered), so the oracle has nothing to say there.
  static let samples = ["6.12-qemu-elf", "6.12-kdump-elf", "6.1-qemu-elf", "6.1-kdump-lzo-d31"]

  @Test(arguments: samples)
  func moduleTypesEqualDrgnsDWARF(_ name: String) throws {
    let sample = try Samples.named(name).require()
    let dir = try TemporaryDirectory("module-btf")
    let out = "\(dir.path)/btf.json"
    let debug = (sample.vmlinux as NSString).deletingLastPathComponent + "/debug"
    let run = try BoundedProcess.run(
      try TestTools.python(),
      [Repository.path("Samples/oracles/module_btf_drgn.py"), sample.file, sample.vmlinux, debug, out], timeout: 300)
    #expect(run.status == 0, "\(run)")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any] ?? [:]
    #expect(json["open_error"] is NSNull, "\(json["open_error"] ?? "")")
    let btfs = json["btf"] as? [[String: Any]] ?? []
    #expect(btfs.map { $0["module"] as? String } == ["qemu_fw_cfg"], "\(btfs)")
    for b in btfs { #expect(b["sha256"] as? String == b["file_sha256"] as? String, "the module file's .BTF: \(b)") }
    let types = json["types"] as? [String: [String: Any]] ?? [:]
    #expect(types.keys.contains("fw_cfg_sysfs_entry") && types.count >= 4, "\(types.keys)")
    let entries = json["fw_cfg_entries"] as? [[String: Any]] ?? []
    #expect(entries.count >= 5, "\(entries.count) fw_cfg entries")

    // `kdig extract --for info` keeps the module BTF pages (and nothing of the entries, slab
    // objects): what needs only the types answers the same there.
    let extract = "\(dir.path)/info.kdump"
    let made = try KdigProcess.run(["extract", "--for", "info", "--dump", sample.file, "--vmlinux", sample.vmlinux, "-o", extract])
    #expect(made.status == 0, "\(made)")

    for noVmlinux in [false, true] {
      let mode = noVmlinux ? "no vmlinux" : "vmlinux"
      let kernel = try Session(dumpPath: sample.file, vmlinuxPath: noVmlinux ? nil : sample.vmlinux, noVmlinux: noVmlinux).kernel
      let listed = try kernel.moduleBTFs()
      #expect(
        listed.map { "\($0.module) \($0.startID) \($0.startStringOffset) \($0.size)" }
          == btfs.map { "\($0["module"] ?? "") \($0["start_id"] ?? "") \($0["start_str_off"] ?? "") \($0["size"] ?? "")" },
        "\(name) \(mode)")
      for m in listed {
        let drgn = try Data(contentsOf: URL(fileURLWithPath: "\(out).\(m.module).btf"))
        #expect(try kernel.bytes(of: m).withUnsafeBytes { Data($0) } == drgn, "\(name) \(mode) \(m.module) bytes")
      }
      let provider = try kernel.types()
      for (typeName, expected) in types.sorted(by: { $0.key < $1.key }) {
        guard case .aggregate(let shallow) = try provider.type(named: "struct \(typeName)").resolved else {
          Issue.record("\(name) \(mode): struct \(typeName) is not a struct")
          continue
        }
        let a = try provider.complete(shallow)
        #expect(a.size == expected["size"] as? Int, "\(name) \(mode) struct \(typeName) size")
        let members = (a.members ?? []).map { "\($0.name ?? "") \($0.bitOffset)" }
        let drgnMembers = (expected["members"] as? [[Any]] ?? []).map { "\($0[0]) \($0[1])" }
        #expect(members == drgnMembers, "\(name) \(mode) struct \(typeName) members")
      }
      // The module's own objects, through a cast to its type: drgn's values.
      let options = noVmlinux ? ["--no-vmlinux"] : ["--vmlinux", sample.vmlinux]
      for e in entries.prefix(6) {
        let address = e["address"] as? String ?? "?"
        let object = "((struct fw_cfg_sysfs_entry *)\(address))"
        let select = try KdigProcess.run(["p", "\(object)->select", "--dump", sample.file] + options)
        #expect(select.stdout == "\(object)->select = \(e["select"] ?? "")\n", "\(name) \(mode): \(select)")
        let text = try KdigProcess.run(["p", "\(object)->name", "--dump", sample.file] + options)
        #expect(text.stdout.hasPrefix("\(object)->name = \"\(e["name"] ?? "")\""), "\(name) \(mode): \(text)")
        do {
          // The member's address needs the module's type, not the object's memory.
          let member = ["p", "&\(object)->name"]
          let there = try KdigProcess.run(member + ["--dump", extract] + options)
          let here = try KdigProcess.run(member + ["--dump", sample.file] + options)
          #expect(here.status == 0 && there.stdout == here.stdout, "\(name) \(mode) extract: \(there) vs \(here)")
        }
      }
    }
  }
}
