// The IDT the kernel builds, reconstructed from the kernel itself (arch/x86/kernel/idt.c):
// the gate tables def_idts / apic_idts / ia32_idt (struct idt_data, __initconst: read from the
// vmlinux file, they are freed in the dump; without a vmlinux, IDTConventions.swift), set_intr_gate() for the external-interrupt stubs
// (irq_entries_start + IDT_ALIGN × (vector − FIRST_EXTERNAL_VECTOR)) and the spurious stubs,
// and early_idt_handler_array for exception vectors no table sets. idt_init_desc() builds the
// 16 gate bytes from an idt_data exactly, so the expected bytes of every vector are known.

import KdigBinary
import KdigKernel

/// Where the kernel set a vector's gate.
public enum GateSource: String, Sendable, Encodable {
  case earlyIdts = "early_idts"
  case earlyPfIdts = "early_pf_idts"
  case defIdts = "def_idts"
  case apicIdts = "apic_idts"
  case ia32Idt = "ia32_idt"
  case irqStub = "irq_entries_start"
  case spuriousStub = "spurious_entries_start"
  case earlyHandler = "early_idt_handler_array"
}

/// The gate the kernel put at one vector.
public struct ExpectedGate: Sendable, Encodable {
  public var vector: Int
  public var source: GateSource
  /// Runtime handler address (link-time address + KASLR offset).
  public var handler: Hex64
  public var segment: UInt16
  /// struct idt_bits: ist 0-2, type 8-12 (S included), dpl 13-14, p 15.
  public var bits: UInt16
  /// The 16 bytes idt_init_desc() writes.
  public var bytes: [UInt8]
}

/// The kernel's IDT construction, read from the vmlinux and the dump.
/// (Tables: arch/x86/kernel/idt.c; `early_idts`/`early_pf_idts` gates survive for the
/// vectors `def_idts` does not set again, such as #BP, #PF and #VE.)
public struct IDTModel: Sendable {
  /// FIRST_EXTERNAL_VECTOR (arch/x86/include/asm/irq_vectors.h).
  public static let firstExternalVector = 0x20
  /// NUM_EXCEPTION_VECTORS.
  public static let exceptionVectors = 32
  /// __KERNEL_CS, and the bits set_intr_gate() uses: present, DPL 0, GATE_INTERRUPT.
  public static let kernelCS: UInt16 = 0x10
  public static let interruptGateBits: UInt16 = 0x8e00

  public var gates: [ExpectedGate]
  /// IDT_ALIGN measured from the stub symbols' sizes (16 with IBT, 8 without).
  public var stubSize: Int
  /// FIRST_SYSTEM_VECTOR: FIRST_EXTERNAL_VECTOR + irq_entries_start's size / IDT_ALIGN.
  public var firstSystemVector: Int
  /// system_vectors bitmap from the dump (vectors the kernel reserved for system use).
  public var systemVectors: [Bool]
  /// Runtime addresses the stubs must jump to.
  public var commonInterrupt: UInt64
  public var spuriousInterrupt: UInt64?
  public var irqEntriesStart: UInt64
  public var spuriousEntriesStart: UInt64
  /// Runtime range of early_idt_handler_array (init text, freed after boot).
  public var earlyHandlers: ClosedRange<UInt64>?
  /// Entries read from each table, for the report.
  public var tableSizes: [String: Int]
  /// Where the gate tables came from (the vmlinux, or the kernel's conventions).
  public var source: String

  /// 16 gate bytes as idt_init_desc() writes them.
  public static func gateBytes(handler: UInt64, segment: UInt16, bits: UInt16) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: 16)
    func put(_ v: UInt64, _ at: Int, _ n: Int) { for i in 0..<n { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    put(handler & 0xffff, 0, 2)
    put(UInt64(segment), 2, 2)
    put(UInt64(bits), 4, 2)
    put((handler >> 16) & 0xffff, 6, 2)
    put(handler >> 32, 8, 4)
    return b
  }
}

/// Why the model could not be built.
public struct IDTModelError: KdigError {
  public var message: String
  public var category: ErrorCategory { .debugInfo }
  public var description: String { message }
}

extension IDTModel {
  /// Builds the model for `kernel`: the gate tables from its vmlinux, or without one from
  /// the kernel's conventions (IDTConventions.swift); symbols and types from either source.
  public init(kernel: KernelImage) throws {
    let symbols = try kernel.symbols()
    let where_ = kernel.vmlinux?.path ?? "the dump's kallsyms"
    func sym(_ name: String) throws -> ElfSymbol {
      guard let s = symbols.first(name) else { throw IDTModelError(message: "\(where_): no symbol \(name)") }
      return s
    }
    var byVector: [Int: ExpectedGate] = [:]
    var tableSizes: [String: Int] = [:]
    // system_vectors: the bitmap the kernel keeps in the dump. Tables loaded with sys=true
    // set their vectors' bits, so a clear bit for ia32_idt's vector means ia32_enabled() was
    // false at boot (ia32_emulation=0) and that table was not applied.
    let bitmapAddress = kernel.runtimeAddress(try sym("system_vectors"))
    let bitmap = try kernel.kernelSpace.bytes(at: bitmapAddress, count: 32)
    let system = (0..<256).map { bitmap[$0 / 8] & (1 << UInt8($0 % 8)) != 0 }
    // The order the kernel applies them (later tables overwrite earlier gates):
    // idt_setup_early_traps (early_idts: #DB, #BP, #VE), idt_setup_early_pf (early_pf_idts:
    // #PF), idt_setup_traps (def_idts, then ia32_idt), idt_setup_apic_and_irq_gates (apic_idts).
    let tableGates: [(GateSource, Int, UInt16, UInt16, UInt64)]
    if let vmlinux = kernel.vmlinux {
      (tableGates, tableSizes) = try Self.tableGates(kernel: kernel, vmlinux: vmlinux, system: system)
      source = "the kernel's tables in \(vmlinux.path)"
    } else {
      // No-vmlinux mode: the __initconst tables are freed in the dump (docs/no-vmlinux.md).
      (tableGates, tableSizes) = IDTConventions.gates(kernel: kernel, symbols: symbols, system: system)
      source = IDTConventions.source
    }
    for (table, vector, segment, bits, handler) in tableGates {
      byVector[vector] = ExpectedGate(
        vector: vector, source: table, handler: Hex64(handler), segment: segment, bits: bits,
        bytes: Self.gateBytes(handler: handler, segment: segment, bits: bits))
    }
    // The stubs: IDT_ALIGN from the symbols' sizes (224 stubs cover vectors 32..255).
    let irq = try sym("irq_entries_start")
    var spurious = try sym("spurious_entries_start")
    let stubs = 256 - Self.firstExternalVector
    if !symbols.sizesAreExact {
      // kallsyms sizes run to the next symbol, so spurious_entries_start may include padding:
      // its stubs end where the 224 stubs of IDT_ALIGN bytes end (spuriousStubBytes).
      spurious.size = try Self.spuriousStubBytes(kernel: kernel, irq: irq, stubs: stubs)
    }
    let total = Int(irq.size + spurious.size)
    guard total > 0, total % stubs == 0 else {
      throw IDTModelError(
        message: "irq_entries_start (\(irq.size) bytes) + spurious_entries_start (\(spurious.size)) is not \(stubs) equal stubs")
    }
    let align = total / stubs
    let firstSystem = Self.firstExternalVector + Int(irq.size) / align
    let irqStart = kernel.runtimeAddress(irq)
    let spuriousStart = kernel.runtimeAddress(spurious)
    for v in Self.firstExternalVector..<256 where byVector[v] == nil && !system[v] {
      let (handler, source) = v < firstSystem
        ? (irqStart &+ UInt64(align * (v - Self.firstExternalVector)), GateSource.irqStub)
        : (spuriousStart &+ UInt64(align * (v - firstSystem)), GateSource.spuriousStub)
      byVector[v] = ExpectedGate(
        vector: v, source: source, handler: Hex64(handler), segment: Self.kernelCS, bits: Self.interruptGateBits,
        bytes: Self.gateBytes(handler: handler, segment: Self.kernelCS, bits: Self.interruptGateBits))
    }
    // Exception vectors no table sets keep idt_setup_early_handler()'s gate.
    let early = try sym("early_idt_handler_array")
    let earlyStart = kernel.runtimeAddress(early)
    let earlySize = early.size > 0 ? early.size / UInt64(Self.exceptionVectors) : 9
    for v in 0..<Self.exceptionVectors where byVector[v] == nil {
      let handler = earlyStart &+ UInt64(v) &* earlySize
      byVector[v] = ExpectedGate(
        vector: v, source: .earlyHandler, handler: Hex64(handler), segment: Self.kernelCS, bits: Self.interruptGateBits,
        bytes: Self.gateBytes(handler: handler, segment: Self.kernelCS, bits: Self.interruptGateBits))
    }
    gates = (0..<256).compactMap { byVector[$0] }
    stubSize = align
    firstSystemVector = firstSystem
    systemVectors = system
    commonInterrupt = kernel.runtimeAddress(try sym("asm_common_interrupt"))
    spuriousInterrupt = symbols.first("asm_spurious_interrupt").map { kernel.runtimeAddress($0) }
    irqEntriesStart = irqStart
    spuriousEntriesStart = spuriousStart
    earlyHandlers = early.size > 0 ? earlyStart...(earlyStart &+ early.size &- 1) : nil
    self.tableSizes = tableSizes
  }
}

extension IDTModel {
  /// The gates the vmlinux's tables declare (struct idt_data layout from the types).
  static func tableGates(kernel: KernelImage, vmlinux: VmlinuxFile, system: [Bool]) throws
    -> ([(GateSource, Int, UInt16, UInt16, UInt64)], [String: Int])
  {
    let symbols = try vmlinux.symbols()
    let types = try kernel.types()
    let kaslr = kernel.layout.kaslrOffset.value
    // struct idt_data {vector, segment, bits, addr} from DWARF.
    let size = try types.sizeof("idt_data")
    let vOff = try types.offsetof("idt_data.vector")
    let sOff = try types.offsetof("idt_data.segment")
    let bOff = try types.offsetof("idt_data.bits")
    let aOff = try types.offsetof("idt_data.addr")
    var gates: [(GateSource, Int, UInt16, UInt16, UInt64)] = []
    var tableSizes: [String: Int] = [:]
    let tables: [(String, GateSource)] = [
      ("early_idts", .earlyIdts), ("early_pf_idts", .earlyPfIdts), ("def_idts", .defIdts), ("ia32_idt", .ia32Idt),
      ("apic_idts", .apicIdts),
    ]
    for (name, source) in tables {
      guard let table = symbols.first(name) else { continue }
      let count = Int(min(table.size / UInt64(max(size, 1)), 256))
      let raw = try vmlinux.bytes(atLinkAddress: table.value, count: count * size)
      let view = ByteView.copying(raw, file: vmlinux.path, fileOffset: 0)
      for i in 0..<count {
        let base = i * size
        let vector = Int(try view.u32(base + vOff, "idt_data.vector"))
        guard vector < 256, source != .ia32Idt || system[vector] else { continue }
        let segment = UInt16(truncatingIfNeeded: try view.u32(base + sOff, "idt_data.segment"))
        let bits = try view.u16(base + bOff, "idt_data.bits")
        let handler = try view.u64(base + aOff, "idt_data.addr") &+ kaslr
        gates.append((source, vector, segment, bits, handler))
      }
      tableSizes[name] = count
    }
    return (gates, tableSizes)
  }

  /// IDT_ALIGN is 8 * (1 + HAS_KERNEL_IBT) (arch/x86/include/asm/idtentry.h): 16 when the
  /// first stub starts with endbr64, 8 otherwise. The spurious stubs cover what the irq
  /// stubs leave of the 224 external vectors.
  static func spuriousStubBytes(kernel: KernelImage, irq: ElfSymbol, stubs: Int) throws -> UInt64 {
    let first = try kernel.kernelSpace.bytes(at: kernel.runtimeAddress(irq), count: 4)
    let align: UInt64 = first == [0xf3, 0x0f, 0x1e, 0xfa] ? 16 : 8
    let irqStubs = irq.size / align
    guard irq.size % align == 0, irqStubs <= UInt64(stubs) else {
      throw IDTModelError(message: "irq_entries_start (\(irq.size) bytes) is not a whole number of \(align)-byte stubs")
    }
    return (UInt64(stubs) - irqStubs) * align
  }
}
