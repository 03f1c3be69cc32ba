// The IDT as it is in the dump: idt_table read through its kernel mapping, through the
// read-only alias at CPU_ENTRY_AREA_RO_IDT (idt_map_in_cea), and through each CPU's IDTR
// (QEMU CPU notes; else idt_descr, what every CPU loads with load_idt()).

import KdigBinary
import KdigKernel
import KdigTranslation
import KdigX86

/// One decoded gate.
public struct IDTGateRow: Sendable, Encodable {
  public var vector: Int
  /// The 16 bytes as hex.
  public var raw: String
  public var handler: Hex64
  /// `name` or `name+0xoff`.
  public var symbol: String?
  public var selector: UInt16
  public var selectorDescription: String
  public var ist: Int
  /// The exception stack the IST index names (ESTACK_* from DWARF), when nonzero.
  public var istStack: String?
  public var type: String
  public var dpl: Int
  public var present: Bool
  /// Where the kernel set this vector, and the handler it set.
  public var expectedSource: String?
  public var expectedHandler: Hex64?
  public var expectedSymbol: String?
  /// The gate's 16 bytes equal what the kernel wrote.
  public var matchesKernel: Bool?
}

/// A CPU's IDTR.
public struct CPUIDTR: Sendable, Encodable {
  public var cpu: Int?
  public var base: Hex64
  public var limit: Int
  /// "QEMU CPU note" or "idt_descr".
  public var source: String
}

/// The three views of the IDT and where they come from.
public struct IDTViews: Sendable {
  public var idtTable: UInt64
  public var kernelBytes: [UInt8]?
  public var kernelError: String?
  public var aliasBytes: [UInt8]?
  public var aliasError: String?
  public var idtr: [CPUIDTR]
  /// Bytes read through each CPU's IDTR (with that CPU's CR3), when the dump has CR3.
  public var idtrBytes: [Int: [UInt8]]
}

extension KernelImage {
  /// Reads the IDT through every view the dump offers.
  public func idtViews() throws -> IDTViews {
    let table = try lookup("idt_table").address
    var v = IDTViews(
      idtTable: table, kernelBytes: nil, kernelError: nil, aliasBytes: nil, aliasError: nil, idtr: [], idtrBytes: [:])
    do { v.kernelBytes = try kernelSpace.bytes(at: table, count: 4096) } catch { v.kernelError = "\(error)" }
    do { v.aliasBytes = try kernelSpace.bytes(at: KernelConstants.cpuEntryAreaBase, count: 4096) } catch {
      v.aliasError = "\(error)"
    }
    if !notes.qemuCPUs.isEmpty {
      for (i, cpu) in notes.qemuCPUs.enumerated() {
        v.idtr.append(CPUIDTR(cpu: i, base: Hex64(cpu.idt.base), limit: Int(cpu.idt.limit), source: "QEMU CPU note"))
        let space = addressSpace(root: cpu.cr3 & kernelSpace.walker.frameMask)
        if let bytes = try? space.bytes(at: cpu.idt.base, count: 4096) { v.idtrBytes[i] = bytes }
      }
    } else if let descr = try? lookup("idt_descr").address, let t = try? types(),
      let sizeOff = try? t.offsetof("desc_ptr.size"), let addrOff = try? t.offsetof("desc_ptr.address"),
      let size = try? kernelSpace.integer(UInt16.self, at: descr &+ UInt64(sizeOff)),
      let address = try? kernelSpace.u64(at: descr &+ UInt64(addrOff))
    {
      v.idtr.append(CPUIDTR(cpu: nil, base: Hex64(address), limit: Int(size), source: "idt_descr"))
    }
    return v
  }

  /// ESTACK_* names by IST index − 1 (enum exception_stack_ordering, DWARF).
  public func exceptionStackNames() -> [Int: String] {
    guard let t = try? types() else { return [:] }
    var names: [Int: String] = [:]
    for name in ["DF", "NMI", "DB", "MCE", "VC", "VC2"] {
      if let v = try? t.enumValue("ESTACK_\(name)") { names[Int(v)] = name }
    }
    return names
  }
}

/// Decodes 4096 IDT bytes into rows, against the kernel's model when there is one.
public func decodeIDT(_ bytes: [UInt8], kernel: KernelImage, model: IDTModel?) -> [IDTGateRow] {
  let stacks = kernel.exceptionStackNames()
  var rows: [IDTGateRow] = []
  for vector in 0..<min(256, bytes.count / 16) {
    let slice = Array(bytes[(vector * 16)..<(vector * 16 + 16)])
    guard let g = try? GateDescriptor(bytes: slice) else { continue }
    let expected = model?.gates.first { $0.vector == vector }
    rows.append(
      IDTGateRow(
        vector: vector, raw: slice.map { hexPadded(UInt64($0), width: 2) }.joined(), handler: Hex64(g.handler),
        symbol: kernel.symbolName(g.handler), selector: g.selector.raw, selectorDescription: g.selector.description,
        ist: g.ist, istStack: g.ist > 0 ? stacks[g.ist - 1] : nil, type: g.type.description, dpl: g.dpl,
        present: g.present, expectedSource: expected?.source.rawValue, expectedHandler: expected?.handler,
        expectedSymbol: expected.flatMap { kernel.symbolName($0.handler.value) },
        matchesKernel: expected.map { $0.bytes == slice }))
  }
  return rows
}
