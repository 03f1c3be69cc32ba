// `kdig-fuzz --make-seeds DIR`: small seeds per target cut out of the real sample dumps
// (Samples/make-samples.sh), so the fuzzer starts from real structures: DIR/<target>/<name>.
// Seeds stay out of git (they are made from the samples, a few KiB to ~70 KiB each); the
// documented DIR is ${KDIG_CACHE:-~/.cache/kdig}/samples/fuzz-seeds, beside the samples.

import Foundation
import Kdig

public enum FuzzSeeds {
  /// One sample of the manifest: what the cutters need.
  struct SampleEntry {
    var name: String
    var file: String
    var vmlinux: String?
  }

  /// `$KDIG_SAMPLES_MANIFEST`, else `${KDIG_CACHE:-$HOME/.cache/kdig}/samples/manifest.json`.
  static var manifestPath: String {
    let env = ProcessInfo.processInfo.environment
    if let p = env["KDIG_SAMPLES_MANIFEST"], !p.isEmpty { return p }
    let cache = env["KDIG_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache/kdig")
    return cache + "/samples/manifest.json"
  }

  struct SeedError: Error, CustomStringConvertible {
    var description: String
  }

  static func samples() throws -> [SampleEntry] {
    guard let data = FileManager.default.contents(atPath: manifestPath),
      let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let list = json["samples"] as? [[String: Any]]
    else { throw SeedError(description: "no sample manifest at \(manifestPath): run `bash Samples/make-samples.sh`") }
    return list.compactMap { s in
      guard let name = s["name"] as? String, let file = s["file"] as? String else { return nil }
      return SampleEntry(name: name, file: file, vmlinux: s["vmlinux"] as? String)
    }
  }

  /// Writes every seed under `directory`; returns how many. `log` gets one line per sample.
  public static func make(into directory: String, log: (String) -> Void) throws -> Int {
    let all = try samples()
    var written = 0
    func save(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
      let dir = "\(directory)/\(target.rawValue)"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
      written += 1
    }
    var vmlinuxDone = Set<String>()
    for sample in all where FileManager.default.fileExists(atPath: sample.file) {
      let before = written
      do {
        let file = try MappedFile(path: sample.file)
        for (target, name, bytes) in try DumpSeeds.cut(file, sample: sample.name) { try save(target, name, bytes) }
        let session = try Session(dumpPath: sample.file, vmlinuxPath: sample.vmlinux)
        for (target, name, bytes) in KernelSeeds.cut(session.kernel, sample: sample.name) {
          try save(target, name, bytes)
        }
        if let vmlinux = sample.vmlinux, !vmlinuxDone.contains(vmlinux), let kernel = sample.name.split(separator: "-").first {
          vmlinuxDone.insert(vmlinux)
          for (target, name, bytes) in try VmlinuxSeeds.cut(vmlinux: vmlinux, kernel: String(kernel)) {
            try save(target, name, bytes)
          }
        }
        log("\(sample.name): \(written - before) seeds")
      } catch {
        log("\(sample.name): \(written - before) seeds, then: \(error)")
      }
    }
    return written
  }
}
