// `ptov`: a physical address to its direct-map virtual address (page_offset_base + pa, checked
// against the page tables), and crash's per-cpu form OFFSET:CPUSPEC (__per_cpu_offset[cpu] +
// offset for each CPU named).

import KdigBinary
import KdigKernel
import KdigTranslation

/// One ptov answer.
public struct PtovAnswer: Sendable, Encodable {
  public var physical: Hex64?
  public var virtual: Hex64?
  /// Whether the kernel page tables map `virtual` back to `physical`.
  public var mapped: Bool?
  public var note: String?
  /// The per-cpu form: offset and one address per CPU.
  public var perCPUOffset: Hex64?
  public var perCPU: [PerCPUAddress]?
}

/// A per-cpu address.
public struct PerCPUAddress: Sendable, Encodable {
  public var cpu: Int
  public var virtual: Hex64
}

/// Answers ptov queries.
public struct PhysicalToVirtual {
  public let kernel: KernelImage

  public init(kernel: KernelImage) { self.kernel = kernel }

  public func answer(_ text: String) throws -> PtovAnswer {
    if let colon = text.firstIndex(of: ":") {
      guard let offset = parseInteger(String(text[..<colon]), defaultHex: true) else {
        throw AddressSpaceError(message: "ptov: bad per-cpu offset in \(text)", category: .usage)
      }
      return try perCPU(offset: offset, spec: String(text[text.index(after: colon)...]))
    }
    guard let pa = parseInteger(text, defaultHex: true) else {
      throw AddressSpaceError(message: "ptov: not a physical address: \(text)", category: .usage)
    }
    let va = kernel.memoryMap(pti: false).pageOffsetBase.value &+ pa
    let walked = try? kernel.kernelSpace.walk(va)
    let mapped = walked?.physicalAddress == pa
    return PtovAnswer(
      physical: Hex64(pa), virtual: Hex64(va), mapped: mapped,
      note: mapped ? nil : walked == nil ? "the direct map does not map this address (not RAM?)"
        : "the direct map maps it to 0x\(hex(walked?.physicalAddress ?? 0)) instead",
      perCPUOffset: nil, perCPU: nil)
  }

  func perCPU(offset: UInt64, spec: String) throws -> PtovAnswer {
    let table = try kernel.lookup("__per_cpu_offset").address
    let count = Int((try? kernel.kernelSpace.integer(UInt32.self, at: try kernel.lookup("nr_cpu_ids").address)) ?? 1)
    let cpus = try Self.parseCPUSpec(spec, count: count)
    var out: [PerCPUAddress] = []
    for cpu in cpus {
      let base = try kernel.kernelSpace.u64(at: table &+ UInt64(cpu * 8))
      out.append(PerCPUAddress(cpu: cpu, virtual: Hex64(base &+ offset)))
    }
    return PtovAnswer(physical: nil, virtual: nil, mapped: nil, note: nil, perCPUOffset: Hex64(offset), perCPU: out)
  }

  /// crash's CPUSPEC: "a" (all), "3", "0-2", "0,2-3".
  public static func parseCPUSpec(_ spec: String, count: Int) throws -> [Int] {
    if spec == "a" || spec == "all" { return Array(0..<count) }
    var cpus: [Int] = []
    for part in spec.split(separator: ",") {
      let bounds = part.split(separator: "-").compactMap { Int($0) }
      guard (1...2).contains(bounds.count), let lo = bounds.first, let hi = bounds.last, lo <= hi, hi < count else {
        throw AddressSpaceError(message: "ptov: bad CPU list \(spec) (CPUs 0-\(count - 1))", category: .usage)
      }
      cpus += Array(lo...hi)
    }
    return cpus
  }
}

/// A raw entry decoded for `pte`.
public struct PteAnswer: Sendable, Encodable {
  public var entry: Hex64
  public var level: String
  public var meaning: String
  public var physical: Hex64?
  public var pageSize: UInt64?
  public var crashFlags: [String]
  public var flags: [String]
  public var protectionKey: Int
  public var swapType: Int?
  public var swapOffset: Hex64?

  public init(raw: UInt64, level: PageTableLevel, decoder: EntryDecoder) {
    let e = PageTableEntry(raw)
    entry = Hex64(raw)
    self.level = level.name
    crashFlags = e.crashFlagNames
    protectionKey = e.protectionKey
    var leaf = false
    switch decoder.meaning(e, at: level) {
    case .empty: meaning = "empty"
    case .table(let next):
      meaning = "table"
      physical = Hex64(next)
    case .leaf(let frame, let size):
      meaning = "leaf"
      physical = Hex64(frame)
      pageSize = size
      leaf = true
    case .protNone(let frame):
      meaning = "protnone"
      physical = Hex64(frame)
    case .swap(let s):
      meaning = s.kind.rawValue
      swapType = s.type
      swapOffset = Hex64(s.offset)
    }
    flags = decoder.flagNames(e, at: level, leaf: leaf)
  }
}
