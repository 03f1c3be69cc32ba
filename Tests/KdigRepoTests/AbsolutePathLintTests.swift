// The repository names no file that only one machine has (issue 7), and the check that
// enforces it catches such a path when one is added back.

import Foundation
import KdigTestSupport
import Testing

@Suite struct AbsolutePathLintTests {
  /// The clone this test file belongs to.
  static let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/KdigRepoTests/<file>
    return url.path
  }()

  @Test func repositoryHasNoMachinePaths() throws {
    let root = Self.repositoryRoot
    #expect(FileManager.default.fileExists(atPath: root + "/Package.swift"), "root: \(root)")
    let files = try AbsolutePathLint.files(root: root)
    #expect(files.contains("Tests/KdigKernelTests/TypesTestVmlinux.swift"), "the scan must see the tests")
    #expect(files.contains("Samples/make-samples.sh"))
    let findings = try AbsolutePathLint.scan(root: root)
    #expect(findings.isEmpty, "\(findings.map(\.description).joined(separator: "\n"))")
  }

  @Test func aMachinePathAddedBackIsCaughtWithFileAndLine() throws {
    let root = FileManager.default.temporaryDirectory
      .appendingPathComponent("kdig-lint-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    func write(_ relative: String, _ text: String) throws {
      let path = root + "/" + relative
      try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    // The literal of issue 7, one in a script, and lines that are fine. `r` is the root "/",
    // interpolated so that this file does not itself name those paths.
    let r = "/"
    try write(
      "Tests/KdigKernelTests/Vmlinux.swift",
      """
      let ok = dir + "/vmlinux-\\(release)"   // relative to a variable
      let fallback = "\(r)tmp/k612/usr/lib/debug/boot/vmlinux-6.12.107+deb12-cloud-amd64"
      let kcore = "/proc/kcore"
      let debug = "/usr/lib/debug/.build-id"
      let url = "https://example.invalid/tmp/x"
      """)
    try write(
      "Samples/lib/x.sh",
      """
      cat "$HOME/.cache/kdig/samples/manifest.json"
      cp \(r)home/someone/vmlinux "$CACHE/kernels"
      mkdir -p /tmp   # path-ok: inside the guest
      """)
    try write("docs/guide.md", "export KDIG_DUMP=/var/crash/vmcore\nsee `\(r)work/main/x`\n")
    try write("Sources/build/ignored.o", "\(r)tmp/not-a-source-file")
    let findings = try AbsolutePathLint.scan(root: root)
    #expect(
      findings.map(\.description) == [
        "Samples/lib/x.sh:2: absolute path \(r)home/someone/vmlinux is not in the clone or the sample cache",
        "Tests/KdigKernelTests/Vmlinux.swift:2: absolute path \(r)tmp/k612/usr/lib/debug/boot/vmlinux-6.12.107+deb12-cloud-amd64 is not in the clone or the sample cache",
        "docs/guide.md:2: absolute path \(r)work/main/x is not in the clone or the sample cache",
      ])
  }
}
