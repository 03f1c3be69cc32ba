// `kdig ptregs ADDR`: struct pt_regs at an address, with layout from DWARF and every field
// explained as the kernel uses it: orig_ax as a syscall number (x86-64 sys_call_table), a
// hardware error code (when the vector is known) or -1; CS/SS as user or kernel selectors;
// RFLAGS bits; RIP symbolized; RSP placed on its stack.

import KdigBinary
import KdigKernel
import KdigX86

/// A pt_regs frame, decoded and explained.
public struct PtRegsFrame: Sendable, Encodable {
  public var address: Hex64
  /// Every field in ptrace.h order.
  public var fields: [PtRegsField]
  public var mode: String
  public var ripSymbol: String?
  public var rspStack: String?
  public var flags: String
  public var origAX: String
  public var cs: String
  public var ss: String
  /// crash's eframe checks: selectors, RFLAGS bit 1.
  public var plausible: Bool

  var regs: PtRegs
  enum CodingKeys: String, CodingKey {
    case address, fields, mode, ripSymbol, rspStack, flags, origAX, cs, ss, plausible
  }
  public var values: PtRegs { regs }
}

public struct PtRegsField: Sendable, Encodable {
  public var name: String
  public var offset: Int
  public var value: Hex64
}

extension KernelImage {
  /// struct pt_regs's layout from the kernel's types.
  public func ptRegsLayout() throws -> PtRegsLayout {
    try memoized("ptRegsLayout") { try readPtRegsLayout() }
  }

  func readPtRegsLayout() throws -> PtRegsLayout {
    let t = try types()
    var offsets: [String: Int] = [:]
    for name in PtRegsLayout.headerOrder {
      if let o = try? t.offsetof("pt_regs.\(name)") { offsets[name] = o }
    }
    return PtRegsLayout(offsets: offsets, size: try t.sizeof("struct pt_regs"))
  }

  /// Reads and explains the pt_regs at `address`; `vector` names the exception when known.
  public func ptRegsFrame(at address: UInt64, vector: Int? = nil, stacks: StackMap? = nil) throws -> PtRegsFrame {
    let layout = try ptRegsLayout()
    let regs = try PtRegs(bytes: try kernelSpace.bytes(at: address, count: layout.size), layout: layout)
    return explain(regs, at: address, layout: layout, vector: vector, stacks: stacks)
  }

  func explain(_ regs: PtRegs, at address: UInt64, layout: PtRegsLayout, vector: Int?, stacks: StackMap?) -> PtRegsFrame {
    let fields = PtRegsLayout.headerOrder.compactMap { name in
      layout.offsets[name].map { PtRegsField(name: name, offset: $0, value: Hex64(regs[name])) }
    }
    let user = regs.userMode
    var rspStack: String?
    if !user, let s = stacks?.stack(containing: regs.sp) {
      rspStack = "\(s.crashLabel)\(s.cpu.map { " of CPU \($0)" } ?? "")"
    }
    return PtRegsFrame(
      address: Hex64(address), fields: fields, mode: user ? "user" : "kernel",
      ripSymbol: user ? nil : symbolName(regs.ip), rspStack: user ? "user stack" : rspStack,
      flags: regs.flags.description, origAX: explainOrigAX(regs, vector: vector),
      cs: regs.cs.description, ss: regs.ss.description, plausible: regs.plausibleSegments, regs: regs)
  }

  /// orig_ax: -1, a syscall number (with its name), or the vector's hardware error code.
  func explainOrigAX(_ regs: PtRegs, vector: Int?) -> String {
    let v = regs.origAX
    if v == -1 { return "-1: not a system call, and no hardware error code (interrupt or exception without one)" }
    if let vector, ExceptionVector.withErrorCode.contains(vector) {
      let name = ExceptionVector.mnemonics[vector] ?? "vector \(vector)"
      if vector == 14 { return "\(name) error code \(PageFaultErrorCode(UInt64(bitPattern: v)))" }
      return "\(name) error code \(SelectorErrorCode(UInt64(bitPattern: v)))"
    }
    if v >= 0, let name = syscallName(Int(v)) { return "\(v): system call \(name)" }
    if v >= 0 && v < 0x1_0000 {
      return "\(v): a system call number (no name found), or a hardware error code (\(PageFaultErrorCode(UInt64(v))) if #PF)"
    }
    return "\(v)"
  }

  /// The x86-64 system call `nr` by the symbol in sys_call_table[nr] ("__x64_sys_write" → "write").
  public func syscallName(_ nr: Int) -> String? {
    guard nr >= 0, nr < 4096, let table = try? lookup("sys_call_table"),
      table.symbol.size == 0 || UInt64(nr * 8) < table.symbol.size,
      let handler = try? kernelSpace.u64(at: table.address &+ UInt64(nr * 8)),
      let (s, off) = symbolize(handler), off == 0
    else { return nil }
    for prefix in ["__x64_sys_", "__se_sys_", "sys_"] where s.name.hasPrefix(prefix) {
      return String(s.name.dropFirst(prefix.count))
    }
    return s.name
  }
}
