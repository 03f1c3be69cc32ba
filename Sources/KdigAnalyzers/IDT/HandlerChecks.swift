// Handler integrity: every gate against the gate the kernel wrote (IDTModel), field by field,
// and the bytes of every external-interrupt and spurious stub ([endbr64] push $vector; jmp
// asm_common_interrupt / asm_spurious_interrupt; int3 padding — arch/x86/include/asm/idtentry.h).

import KdigBinary
import KdigKernel
import KdigX86

/// Checks each vector's gate and stub.
struct HandlerChecks {
  let kernel: KernelImage
  let model: IDTModel

  /// Where a handler address lies.
  enum Place: Equatable {
    case kernelText, initText, module(String), outside
  }

  func place(_ address: UInt64, modules: [ModuleText]) -> Place {
    func range(_ a: String, _ b: String) -> ClosedRange<UInt64>? {
      guard let s = try? kernel.lookup(a).address, let e = try? kernel.lookup(b).address, s < e else { return nil }
      return s...(e &- 1)
    }
    if let text = range("_text", "_etext"), text.contains(address) { return .kernelText }
    if let entry = range("__entry_text_start", "__entry_text_end"), entry.contains(address) { return .kernelText }
    if let initText = range("_sinittext", "_einittext"), initText.contains(address) { return .initText }
    if let m = modules.first(where: { address >= $0.start.value && address < $0.end.value }) { return .module(m.name) }
    return .outside
  }

  func run(_ bytes: [UInt8], _ checks: inout [CheckResult], _ findings: inout [Finding]) {
    let modules = (try? ModuleList(kernel: kernel).texts()) ?? []
    var mismatched = 0
    var early: [Int] = []
    for expected in model.gates {
      let v = expected.vector
      let slice = Array(bytes[(v * 16)..<(v * 16 + 16)])
      guard let actual = try? GateDescriptor(bytes: slice), let want = try? GateDescriptor(bytes: expected.bytes) else { continue }
      if slice == expected.bytes {
        if expected.source == .earlyHandler { early.append(v) }
      } else {
        mismatched += 1
        findings += differences(v, actual, want, expected, modules)
      }
      if expected.source == .irqStub || expected.source == .spuriousStub {
        findings += stubFindings(v, expected)
      }
    }
    // IDT_ALIGN as the stubs themselves show it (distance between consecutive pushes)
    // must equal what the stub symbols' sizes say.
    if let bytes = try? kernel.kernelSpace.bytes(at: model.irqEntriesStart, count: 64 * 5) {
      let measured = EntryStub.measureSlotSize(bytes, at: model.irqEntriesStart, firstVector: IDTModel.firstExternalVector)
      if measured == model.stubSize {
        checks.append(CheckResult("stubs.stride", "passed", "irq_entries_start stubs are \(model.stubSize) bytes apart (IDT_ALIGN)"))
      } else {
        checks.append(CheckResult("stubs.stride", "failed", "stubs measure \(measured.map(String.init) ?? "undecodable"), symbol sizes say \(model.stubSize)"))
        findings.append(Finding(.error, "idt.stub-stride", "irq_entries_start does not decode as stubs \(model.stubSize) bytes apart (measured \(measured.map(String.init) ?? "nothing"))"))
      }
    }
    if !early.isEmpty {
      findings.append(
        Finding(
          .warning, "idt.early-handler", "vectors \(early.map(String.init).joined(separator: ", ")) still point into early_idt_handler_array (init text freed after boot): no table sets these reserved exception vectors, so idt_setup_early_handler()'s gates remain — known kernel behaviour",
          evidence: ["vectors": early.map(String.init).joined(separator: ",")]))
    }
    checks.append(
      CheckResult(
        "handlers", mismatched == 0 ? "passed" : "failed",
        "\(model.gates.count - mismatched) of \(model.gates.count) gates equal the kernel's own (early_idts \(model.tableSizes["early_idts"] ?? 0), early_pf_idts \(model.tableSizes["early_pf_idts"] ?? 0), def_idts \(model.tableSizes["def_idts"] ?? 0), apic_idts \(model.tableSizes["apic_idts"] ?? 0), ia32_idt \(model.tableSizes["ia32_idt"] ?? 0), stubs of \(model.stubSize) bytes, FIRST_SYSTEM_VECTOR \(hex0x(UInt64(model.firstSystemVector))))"
          // No vmlinux: say that the expected gates are the kernel's conventions.
          + (kernel.vmlinux == nil ? "; expected gates from \(model.source)" : "")))
  }

  func differences(_ v: Int, _ actual: GateDescriptor, _ want: GateDescriptor, _ expected: ExpectedGate, _ modules: [ModuleText]) -> [Finding] {
    var out: [Finding] = []
    let evidence: [String: String] = [
      "found": actual.encode().map { hexPadded(UInt64($0), width: 2) }.joined(),
      "expected": expected.bytes.map { hexPadded(UInt64($0), width: 2) }.joined(),
      "source": expected.source.rawValue,
    ]
    if !actual.present && want.present {
      out.append(Finding(.error, "idt.not-present", vector: v, "vector \(v): the gate is not present; the kernel set it (\(expected.source.rawValue))", evidence: evidence))
    }
    if actual.handler != want.handler {
      let found = kernel.symbolName(actual.handler) ?? "no symbol"
      let wanted = kernel.symbolName(want.handler) ?? hex0x(want.handler)
      var e = evidence
      e["handler"] = hex0x(actual.handler)
      e["expectedHandler"] = hex0x(want.handler)
      switch place(actual.handler, modules: modules) {
      case .outside:
        out.append(Finding(.error, "idt.handler-hooked", vector: v, "vector \(v): handler \(hex0x(actual.handler)) (\(found)) is outside kernel text and every module's text; the kernel set \(wanted)", evidence: e))
      case .module(let m):
        out.append(Finding(.error, "idt.handler-in-module", vector: v, "vector \(v): handler \(hex0x(actual.handler)) is in module \(m)'s text; the kernel set \(wanted)", evidence: e))
      case .initText:
        out.append(Finding(.error, "idt.handler-init-text", vector: v, "vector \(v): handler \(hex0x(actual.handler)) (\(found)) is in freed init text; the kernel set \(wanted)", evidence: e))
      case .kernelText:
        out.append(Finding(.error, "idt.handler-changed", vector: v, "vector \(v): handler is \(found), the kernel set \(wanted)", evidence: e))
      }
    }
    if actual.selector != want.selector {
      out.append(Finding(.error, "idt.selector", vector: v, "vector \(v): selector \(actual.selector), the kernel set \(want.selector)", evidence: evidence))
    }
    if actual.rawType != want.rawType || actual.systemBit != want.systemBit {
      out.append(Finding(.error, "idt.gate-type", vector: v, "vector \(v): gate type \(actual.type)\(actual.systemBit ? " with S set" : ""), the kernel set \(want.type)", evidence: evidence))
    }
    if actual.dpl != want.dpl {
      out.append(Finding(.error, "idt.dpl", vector: v, "vector \(v): DPL \(actual.dpl), the kernel set \(want.dpl)\(actual.dpl == 3 ? " (user space can now raise this vector with int)" : "")", evidence: evidence))
    }
    if actual.ist != want.ist {
      out.append(Finding(.error, "idt.ist", vector: v, "vector \(v): IST \(actual.ist), the kernel set \(want.ist)", evidence: evidence))
    }
    if !actual.reservedBitsClear {
      out.append(Finding(.error, "idt.reserved-bits", vector: v, "vector \(v): reserved gate bits are set", evidence: evidence))
    }
    if out.isEmpty {
      out.append(Finding(.error, "idt.gate-bytes", vector: v, "vector \(v): gate bytes differ from the kernel's", evidence: evidence))
    }
    return out
  }

  /// The stub the kernel's gate points at must push this vector and jump to the common entry.
  func stubFindings(_ v: Int, _ expected: ExpectedGate) -> [Finding] {
    let address = expected.handler.value
    guard let bytes = try? kernel.kernelSpace.bytes(at: address, count: model.stubSize) else {
      return [Finding(.warning, "idt.stub-unreadable", vector: v, "vector \(v): stub at \(hex0x(address)) is not readable from the dump")]
    }
    let stub = EntryStub.decode(bytes, at: address, slotSize: model.stubSize)
    let target = expected.source == .irqStub ? model.commonInterrupt : model.spuriousInterrupt
    let problems = stub.problems(expectingVector: UInt8(v), jumpTarget: target)
    guard !problems.isEmpty else { return [] }
    return [
      Finding(
        .error, "idt.stub", vector: v, "vector \(v): the \(expected.source.rawValue) stub at \(hex0x(address)) \(problems.joined(separator: "; "))",
        evidence: ["bytes": bytes.map { hexPadded(UInt64($0), width: 2) }.joined(), "jumpTarget": stub.jumpTarget.map(hex0x) ?? "-"])
    ]
  }
}
