// Loaded kernel modules' text ranges, for the analyzers (IDT handler checks, module ORC).

import KdigBinary
import KdigKernel

/// A module's name and executable range.
public struct ModuleText: Sendable, Encodable {
  public var name: String
  public var start: Hex64
  public var end: Hex64
}

/// Reads the module list.
public struct ModuleList {
  public let kernel: KernelImage

  public init(kernel: KernelImage) { self.kernel = kernel }

  /// Every loaded module's text, or an empty list when the kernel has no module support
  /// (the walk itself: KdigKernel/Modules/KernelModules.swift).
  public func texts() throws -> [ModuleText] {
    try kernel.loadedModules().map {
      ModuleText(name: $0.name, start: Hex64($0.text.lowerBound), end: Hex64($0.text.upperBound))
    }
  }
}
