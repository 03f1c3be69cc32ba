// `kdig extract`: a small makedumpfile-format dump holding only the pages kdig's analyses
// read from a big one, with its VMCOREINFO and CPU notes. What a user attaches to a bug
// report instead of the whole vmcore; crash, drgn and kdig open it like any kdump file.

import KdigBinary
import KdigCodecs

#if canImport(Glibc)
  import Glibc
#endif

/// How to extract.
public struct ExtractOptions: Sendable {
  public var parts: [ExtractPart] = ExtractPart.allCases
  /// nil: pages stored uncompressed.
  public var codec: PageCompression? = .zlib
  public var vmlinuxPath: String?
  public var force = false
  /// Run the analyses with the dump's kallsyms and BTF only (no vmlinux pass).
  public var noVmlinux = false
  public var searchDirectories: [String] = []

  public init() {}

  /// `zlib`, `lzo`, `snappy`, `zstd` or `none`.
  public mutating func setCompression(_ name: String) throws {
    if name == "none" {
      codec = nil
    } else if let c = PageCompression(rawValue: name) {
      codec = c
    } else {
      throw ExtractError.usage("--compress: \(name) is not one of zlib, lzo, snappy, zstd, none")
    }
  }
}

public enum DumpExtractor {
  /// Extracts `dumpPath` into `outputPath`.
  public static func extract(dumpPath: String, to outputPath: String, options: ExtractOptions) throws -> ExtractReport {
    let started = monotonicSeconds()
    let recorder = RecordingDump(try openDump(path: dumpPath))
    var passes: [String] = []
    var withVmlinux: Session?
    if !options.noVmlinux {
      recorder.label = "open"
      let session = try Session(
        dump: recorder, vmlinuxPath: options.vmlinuxPath, force: options.force, searchDirectories: options.searchDirectories)
      if let v = session.kernel.vmlinux {
        withVmlinux = session
        passes.append("vmlinux \(v.path)")
        run(session, options.parts, recorder)
      }
    }
    recorder.label = "open"
    let dumpOnly = try Session(dump: recorder, vmlinuxPath: nil, noVmlinux: true)
    passes.append("kallsyms+BTF")
    run(dumpOnly, options.parts, recorder)

    let kernel = (withVmlinux ?? dumpOnly).kernel
    let original = recorder.original
    let pageSize = UInt64(original.pageSize)
    let ram = original.ranges.map { ($0.start / pageSize)..<($0.end / pageSize &+ ($0.end % pageSize == 0 ? 0 : 1)) }
    // The extract's max_mapnr ends with the last RAM (or kept) page: a header's larger
    // max_mapnr adds only empty bitmap bytes (and a hostile one, gigabytes of them).
    let maxPFN = max(ram.map(\.upperBound).max() ?? 0, (recorder.pages.keys.max() ?? 0) &+ 1)
    let source = dumpPath.split(separator: "/").last.map(String.init) ?? dumpPath
    let origin = "from \(original.summary.format.rawValue) \(source); kept for: \(options.parts.map(\.rawValue).joined(separator: ","))"
    let notes = notesToKeep(original.notes)
      + [RawNote(name: DumpNotes.kdigNoteName, type: DumpNotes.kdigNoteType, desc: Array(origin.utf8) + [0])]
    let writer = KdumpWriter(
      header: headerFields(kernel), notes: notes, maxPFN: maxPFN, ramFrames: ram, codec: options.codec)
    let pfns = recorder.pages.keys.filter { $0 < maxPFN }.sorted()
    let written = try writer.write(to: outputPath, pfns: pfns) { pfn in
      try original.bytes(at: pfn * pageSize, count: Int(pageSize))
    }
    // The file must open as a dump before it is reported as one.
    _ = try openDump(path: outputPath)

    var counts: [String: Int] = [:]
    for label in recorder.pages.values { counts[label, default: 0] += 1 }
    let order = ["open"] + options.parts.map(\.rawValue)
    return ExtractReport(
      source: dumpPath, output: outputPath, sourceSize: original.fileSize, fileSize: written.fileSize,
      compression: options.codec?.rawValue ?? "none", pages: written.pages, zeroPages: written.zeroPages,
      compressedPages: written.compressedPages, maxPFN: maxPFN,
      parts: order.map { ExtractReport.Part(name: $0, pages: counts[$0] ?? 0) }, passes: passes,
      notes: notes.map { "\($0.name)/\($0.type) \($0.desc.count) bytes" }, elapsed: monotonicSeconds() - started)
  }

  static func run(_ session: Session, _ parts: [ExtractPart], _ recorder: RecordingDump) {
    session.kernel.readsTablesFromDump = true
    ExtractWorkload(kernel: session.kernel, recorder: recorder).run(parts)
  }

  /// Every note of the original; VMCOREINFO as a note when the original had only its text
  /// (kdump header version 3).
  static func notesToKeep(_ notes: DumpNotes) -> [RawNote] {
    // An extract of an extract says only where it came from once.
    var kept = notes.records.filter { $0.name != DumpNotes.kdigNoteName }
    if !kept.contains(where: { $0.name == "VMCOREINFO" }), let text = notes.vmcoreinfo {
      kept.append(RawNote(name: "VMCOREINFO", type: 0, desc: Array(text.utf8)))
    }
    return kept
  }

  /// The header as makedumpfile fills it: utsname from the kernel, crash time, CPUs.
  static func headerFields(_ kernel: KernelImage) -> KdumpHeaderFields {
    let machine = MachineInfoAnalyzer(kernel: kernel).analyze()
    var h = KdumpHeaderFields()
    h.nodename = machine.nodename?.value ?? ""
    h.release = machine.release?.value ?? kernel.vmcoreinfo?.osRelease ?? ""
    h.version = machine.version?.value ?? ""
    h.timestamp = UInt64(max(0, machine.crashTime?.value ?? 0))
    h.cpus = Int32(clamping: kernel.dumpSummary.headerCPUs ?? kernel.noteCPUCount)
    h.physBase = kernel.layout.physBase.value
    return h
  }
}

func monotonicSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// A mistake in what `extract` was asked for.
public enum ExtractError: KdigError {
  case usage(String)
  public var category: ErrorCategory { .usage }
  public var description: String {
    switch self {
    case .usage(let m): m
    }
  }
}
