// What `kdig extract` wrote: sizes, pages by the analysis that first read them, the notes
// carried over. Plain data for the renderers.

/// What an extract kept.
public struct ExtractReport: Sendable, Encodable {
  public struct Part: Sendable, Encodable {
    public var name: String
    /// Pages this part read first (a page shared by two parts counts for the first).
    public var pages: Int

    public init(name: String, pages: Int) {
      self.name = name
      self.pages = pages
    }
  }
  public var source: String
  public var output: String
  public var sourceSize: UInt64
  public var fileSize: UInt64
  public var compression: String
  public var pages: Int
  public var zeroPages: Int
  public var compressedPages: Int
  /// Page frames of the machine (max_mapnr); every RAM page not kept reads as excluded.
  public var maxPFN: UInt64
  public var parts: [Part]
  /// The symbol sources the analyses ran with: "vmlinux …", "kallsyms+BTF".
  public var passes: [String]
  /// Notes carried over: name/type and size.
  public var notes: [String]
  public var elapsed: Double

  public init(
    source: String, output: String, sourceSize: UInt64, fileSize: UInt64, compression: String, pages: Int,
    zeroPages: Int, compressedPages: Int, maxPFN: UInt64, parts: [Part], passes: [String], notes: [String],
    elapsed: Double
  ) {
    self.source = source
    self.output = output
    self.sourceSize = sourceSize
    self.fileSize = fileSize
    self.compression = compression
    self.pages = pages
    self.zeroPages = zeroPages
    self.compressedPages = compressedPages
    self.maxPFN = maxPFN
    self.parts = parts
    self.passes = passes
    self.notes = notes
    self.elapsed = elapsed
  }
}

