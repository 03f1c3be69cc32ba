// `vtop`: one virtual address through the page tables, with the whole trace, every entry
// decoded, the effective permissions, the struct page of the frame, and — unlike crash
// (crash-utility/crash#107) — PHYSICAL always the walk's answer, with the linear-map
// arithmetic shown beside it when the two disagree.

import KdigBinary
import KdigKernel
import KdigMemory
import KdigTranslation

/// One level of a vtop trace.
public struct VtopStep: Sendable, Encodable {
  public var level: String
  public var table: Hex64
  public var index: Int
  public var entryAddress: Hex64
  public var entry: Hex64
  /// table, leaf, empty, protnone, swap.
  public var meaning: String
  public var flags: [String]
}

/// A non-present leaf decoded.
public struct NonPresentInfo: Sendable, Encodable {
  public var kind: String
  /// The un-inverted frame of a PROT_NONE entry.
  public var frame: Hex64?
  public var swapType: Int?
  public var swapOffset: Hex64?
}

/// The answer of `vtop` for one address.
public struct VtopAnswer: Sendable, Encodable {
  public var virtual: Hex64
  public var region: String
  public var space: ResolvedSpace
  public var physical: Hex64?
  /// What __pa()/__pa_symbol() arithmetic gives, for kernel-image and direct-map addresses.
  public var linearPhysical: Hex64?
  public var linearAgrees: Bool?
  public var steps: [VtopStep]
  public var leafLevel: String?
  public var pageSize: UInt64?
  /// crash's FLAGS column for the leaf.
  public var crashFlags: [String]
  /// Every bit of the leaf named, kernel software bits included.
  public var flags: [String]
  public var permissions: EffectivePermissions?
  public var nonPresent: NonPresentInfo?
  /// Why the address does not translate.
  public var error: String?
  public var errorCategory: ErrorCategory?
  /// Whether the frame's bytes are in the dump, and why not.
  public var frameInDump: String?
  public var page: PageStructInfo?
}

/// Translates addresses for `vtop`.
public struct VtopAnalyzer {
  public let kernel: KernelImage
  let decoder: EntryDecoder
  let regions: KernelRegions
  let map: KernelMemoryMap

  public init(kernel: KernelImage) {
    self.kernel = kernel
    decoder = kernel.entryDecoder()
    map = kernel.memoryMap(pti: false)
    regions = kernel.regions(map)
  }

  /// Translates `address` in `space`. User addresses need a task or CR3 context.
  public func translate(_ address: UInt64, in space: ResolvedSpace, withPage: Bool = true) -> VtopAnswer {
    let region = regions.region(of: address)
    var answer = VtopAnswer(
      virtual: Hex64(address), region: region.rawValue, space: space, physical: nil, linearPhysical: nil,
      linearAgrees: nil, steps: [], leafLevel: nil, pageSize: nil, crashFlags: [], flags: [],
      permissions: nil, nonPresent: nil, error: nil, errorCategory: nil, frameInDump: nil, page: nil)
    answer.linearPhysical = linear(address, region).map { Hex64($0) }
    let walker = kernel.kernelSpace.walker
    do {
      let t = try walker.walk(address, root: space.root.value)
      answer.steps = steps(t.steps, leafLevel: t.leafLevel)
      answer.physical = Hex64(t.physicalAddress)
      answer.leafLevel = t.leafLevel.name
      answer.pageSize = t.pageSize
      answer.crashFlags = t.leaf.crashFlagNames
      answer.flags = decoder.flagNames(t.leaf, at: t.leafLevel, leaf: true)
      answer.permissions = t.permissions
      if let lin = answer.linearPhysical { answer.linearAgrees = lin.value == t.physicalAddress }
      answer.frameInDump = frameStatus(t.pageBase)
      if withPage { answer.page = PageStructReader(kernel: kernel, map: map).page(frame: t.pageBase) }
    } catch {
      answer.steps = steps(error.steps, leafLevel: nil)
      answer.error = error.description
      answer.errorCategory = error.category
      if case .notPresent = error.reason, let last = error.steps.last {
        answer.crashFlags = last.entry.crashFlagNames
        answer.nonPresent = nonPresent(last)
      }
    }
    return answer
  }

  func steps(_ steps: [WalkStep], leafLevel: PageTableLevel?) -> [VtopStep] {
    steps.map { s in
      let isLeaf = s.level == leafLevel
      let meaning: String
      switch decoder.meaning(s.entry, at: s.level) {
      case .empty: meaning = "empty"
      case .table: meaning = isLeaf ? "leaf" : "table"
      case .leaf: meaning = "leaf"
      case .protNone: meaning = "protnone"
      case .swap(let e): meaning = e.kind.rawValue
      }
      return VtopStep(
        level: s.level.name, table: Hex64(s.tableAddress), index: s.index, entryAddress: Hex64(s.entryAddress),
        entry: Hex64(s.entry.raw), meaning: meaning, flags: decoder.flagNames(s.entry, at: s.level, leaf: isLeaf))
    }
  }

  func nonPresent(_ step: WalkStep) -> NonPresentInfo? {
    switch decoder.meaning(step.entry, at: step.level) {
    case .protNone(let frame): return NonPresentInfo(kind: "protnone", frame: Hex64(frame), swapType: nil, swapOffset: nil)
    case .swap(let e): return NonPresentInfo(kind: e.kind.rawValue, frame: nil, swapType: e.type, swapOffset: Hex64(e.offset))
    default: return nil
    }
  }

  /// __pa_symbol() for the kernel image, __pa() for the direct map.
  func linear(_ address: UInt64, _ region: AddressRegion) -> UInt64? {
    switch region {
    case .kernelImage: return kernel.layout.physicalAddress(ofKernelImage: address)
    case .directMap: return address &- map.pageOffsetBase.value
    default: return nil
    }
  }

  /// "in dump", or why the frame's bytes are not.
  func frameStatus(_ frame: UInt64) -> String {
    let bits = kernel.kernelSpace.walker.physicalBits
    if frame >> UInt64(bits) != 0 { return "frame 0x\(hex(frame)) is beyond the \(bits)-bit physical address limit" }
    do {
      _ = try kernel.memory.integer(UInt8.self, at: frame)
      return "in dump"
    } catch {
      return "\(error.reason)"
    }
  }
}
