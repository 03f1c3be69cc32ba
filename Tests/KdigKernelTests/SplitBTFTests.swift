// Module BTF is split BTF (kernel/bpf/btf.c btf_parse_module): ids and string offsets
// continue the vmlinux's. BTFTypes.split lays the two end to end and reads them as one;
// ModuleTypes answers what the base lacks from the module that names it, and routes a
// module type's reference back to that module.

import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct SplitBTFTests {
  /// A base (int, struct base_thing) and a module whose struct refers to both.
  static func fixture() -> (base: [UInt8], split: [UInt8]) {
    var b = TypesBTFBuilder()
    let int = b.int("int", size: 4, signed: true)
    let baseThing = b.structure("base_thing", size: 8, [("x", int, 0, nil), ("y", int, 32, nil)])
    let base = b.blob
    let baseTypes = b.types.count, baseStrings = b.strings.count
    let ptr = b.ptr(baseThing)
    _ = b.structure("mod_thing", size: 24, [("count", int, 0, nil), ("inner", baseThing, 32, nil), ("link", ptr, 128, nil)])
    let types = Array(b.types[baseTypes...]), strings = Array(b.strings[baseStrings...])
    var split: [UInt8] = [0x9f, 0xeb, 1, 0]
    for v in [UInt32(24), 0, UInt32(types.count), UInt32(types.count), UInt32(strings.count)] {
      withUnsafeBytes(of: v.littleEndian) { split += $0 }
    }
    return (base, split + types + strings)
  }

  @Test func moduleTypesReferToTheBase() throws {
    let (baseBytes, splitBytes) = Self.fixture()
    let base = try BTFTypes(bytes: ByteView.copying(baseBytes, file: "base", fileOffset: 0))
    let split = ByteView.copying(splitBytes, file: "module", fileOffset: 0)
    #expect(BTFTypes.splitNames(Array("mod_thing".utf8), in: split, baseStrings: base.layout.strings.count))
    #expect(!BTFTypes.splitNames(Array("base_thing".utf8), in: split, baseStrings: base.layout.strings.count))

    let layered = ModuleTypes(primary: base) { .init(base: base, modules: [("other", split), ("mod", split)]) }
    guard case .aggregate(let thing) = try layered.type(named: "struct mod_thing").resolved else {
      Issue.record("mod_thing is not a struct")
      return
    }
    #expect(thing.size == 24)
    #expect(thing.members?.map { "\($0.name ?? "") \($0.bitOffset) \($0.type.name)" }
      == ["count 0 int", "inner 32 struct base_thing", "link 128 struct base_thing *"])
    #expect(try layered.offsetof("mod_thing.inner.y") == 8, "a base struct inside a module struct")
    // The pointer's target comes back as a reference tagged with the module's slot.
    guard case .pointer(let target) = thing.members?.last?.type, case .aggregate(let ref) = target.resolved,
      let raw = ref.ref?.raw
    else {
      Issue.record("link is not a pointer to a struct reference")
      return
    }
    #expect(raw & ModuleTypes.tagBit != 0 && (raw >> 32) & 0x7fff_ffff == 1, "slot 0 (+1): \(String(raw, radix: 16))")
    #expect(try layered.complete(ref).members?.count == 2)
    // Base types still come from the base, and unknown names stay unknown.
    #expect(try layered.sizeof("base_thing") == 8)
    #expect(try layered.findType(TypeQuery(parsing: "struct no_such_thing")) == nil)
  }

  @Test func damagedModuleBlobIsAnErrorNotATrap() throws {
    let (baseBytes, splitBytes) = Self.fixture()
    let base = try BTFTypes(bytes: ByteView.copying(baseBytes, file: "base", fileOffset: 0))
    var cut = splitBytes
    cut[12] = 0xff  // type_len past the blob
    let split = ByteView.copying(cut, file: "module", fileOffset: 0)
    #expect(!BTFTypes.splitNames(Array("mod_thing".utf8), in: split, baseStrings: base.layout.strings.count))
    #expect(throws: BinaryError.self) { try BTFTypes.split(split, base: base, source: "module", refTag: 0) }
  }
}
