// The vmlinux fetched by build-id from a real debuginfod (Debian's, serving the samples' -dbg
// packages: Samples/test-tools.sh) when none is found on disk, as drgn and gdb do: `info` and
// `check` say it came from debuginfod, it is the dump's kernel, and check's verdict equals the
// one with the vmlinux given. A server that refuses or never answers leaves the dump's kallsyms
// and BTF, with a notice, in bounded time. Nothing under the system's debug directories can
// serve: KDIG_SYSROOT is an empty tree, and each run gets a fresh client cache.

import Foundation
import Kdig
import KdigTestSupport
import Testing

@Suite struct DebuginfodTests {
  /// One kernel of each series.
  static let sampleNames = ["6.12-qemu-kdump-zlib", "6.1-kdump-zlib-d31"]

  func environment(urls: String, cache: TemporaryDirectory, sysroot: DebugSysroot) -> [String: String] {
    ["KDIG_SYSROOT": sysroot.path, "DEBUGINFOD_URLS": urls, "DEBUGINFOD_CACHE_PATH": cache.path]
  }

  func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text.prefix(500))")
  }

  @Test(arguments: sampleNames) func infoAndCheckFetchTheVmlinuxByBuildID(_ name: String) throws {
    let s = try Samples.named(name).require()
    let server = try DebuginfodServer()
    let empty = try DebugSysroot([])

    // info, from an empty client cache: the file comes from the server.
    let infoCache = try TemporaryDirectory("debuginfod-cache")
    let env = environment(urls: server.url, cache: infoCache, sysroot: empty)
    let info = try KdigProcess.run(["info", "--json", "--dump", s.file], environment: env)
    #expect(info.status == 0, "\(info.stderr)")
    #expect(!info.stderr.contains("no vmlinux found"), "\(info.stderr)")
    let result = try #require(try jsonObject(info.stdout)["result"] as? [String: Any])
    let buildID = try #require((result["buildID"] as? [String: Any])?["value"] as? String)
    #expect((result["buildID"] as? [String: Any])?["how"] as? String == "VMCOREINFO BUILD-ID")
    let fetched = try #require(result["vmlinux"] as? String)
    #expect(result["vmlinuxSource"] as? String == "debuginfod")
    // libdebuginfod keeps what it fetched as CACHE/BUILD-ID/debuginfo.
    #expect(fetched == "\(infoCache.path)/\(buildID)/debuginfo")
    #expect(result["vmlinuxMatch"] as? String == "build-id \(buildID) matches VMCOREINFO BUILD-ID")
    #expect(try VmlinuxFile(path: fetched).buildID == buildID)
    #expect(FileManager.default.contentsEqual(atPath: fetched, andPath: s.vmlinux), "not the -dbg package's vmlinux")
    #expect(server.logText.contains("/buildid/\(buildID)/debuginfo"), "\(server.logText.suffix(800))")

    let text = try KdigProcess.run(["info", "--dump", s.file], environment: env)
    let kernelLine = text.stdout.split(separator: "\n").first { $0.contains("KERNEL:") } ?? ""
    #expect(kernelLine.contains(fetched) && kernelLine.contains("fetched from debuginfod by build-id"), "\(kernelLine)")

    // check, from another empty cache: its checker child fetches the file itself.
    let checkCache = try TemporaryDirectory("debuginfod-cache")
    let r = try KdigProcess.run(
      ["check", "--json", s.file], environment: environment(urls: server.url, cache: checkCache, sysroot: empty))
    #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
    let line = try CheckLines(r.stdout).dump(s.file)
    #expect(CheckLines.schemaProblems(line).isEmpty, "\(CheckLines.schemaProblems(line))")
    let kernel = try #require(line["kernel"] as? [String: Any])
    #expect(kernel["vmlinuxSource"] as? String == "debuginfod")
    #expect(kernel["vmlinux"] as? String == "\(checkCache.path)/\(buildID)/debuginfo")
    #expect(kernel["buildID"] as? String == buildID)
    #expect(kernel["vmlinuxNotice"] is NSNull)

    let given = try KdigProcess.run(["check", "--json", "--vmlinux", s.vmlinux, s.file])
    #expect(given.status == 0)
    let givenLine = try CheckLines(given.stdout).dump(s.file)
    #expect(try verdict(line) == verdict(givenLine), "the check differs from the one with --vmlinux")
  }

  /// A report without what depends on the run: its time and where the vmlinux came from.
  func verdict(_ line: [String: Any]) throws -> String {
    var l = line
    l["elapsed"] = nil
    if var k = l["kernel"] as? [String: Any] {
      k["vmlinux"] = nil
      k["vmlinuxSource"] = nil
      l["kernel"] = k
    }
    return String(decoding: try JSONSerialization.data(withJSONObject: l, options: [.sortedKeys]), as: UTF8.self)
  }

  /// `kdig check --json` on the 6.1 sample with `urls`, bounded in time; its line.
  func checkWithoutVmlinux(urls: String, extra: [String: String] = [:]) throws -> (BoundedRun, [String: Any]) {
    let s = try Samples.named("6.1-kdump-zlib-d31").require()
    let cache = try TemporaryDirectory("debuginfod-cache")
    let empty = try DebugSysroot([])
    let env = environment(urls: urls, cache: cache, sysroot: empty).merging(extra) { $1 }
    let r = try BoundedProcess.run(KdigProcess.binary, ["check", "--json", s.file], timeout: 60, environment: env)
    #expect(!r.timedOut, "\(r)")
    #expect(r.status == 0, "\(r)")
    let line = try CheckLines(r.stdout).dump(s.file)
    #expect(line["status"] as? String == "ok", "\(line)")
    let kernel = try #require(line["kernel"] as? [String: Any])
    #expect(kernel["vmlinux"] is NSNull && kernel["vmlinuxSource"] is NSNull, "\(kernel)")
    #expect((line["crash"] as? [String: Any])?["message"] as? String == "sysrq triggered crash", "from the dump's kallsyms")
    return (r, kernel)
  }

  @Test func unreachableServerFallsBackToKallsymsAndBTF() throws {
    let url = "http://127.0.0.1:\(try LoopbackSocket.freePort())"
    let (_, kernel) = try checkWithoutVmlinux(urls: url)
    let notice = kernel["vmlinuxNotice"] as? String ?? ""
    let buildID = kernel["buildID"] as? String ?? "?"
    #expect(notice.contains("debuginfod: cannot fetch build-id \(buildID) from DEBUGINFOD_URLS=\(url)"), "\(notice)")
    #expect(notice.contains("using the dump's kallsyms for symbols and its BTF for types"), "\(notice)")

    // Every command says it once on stderr.
    let s = try Samples.named("6.1-kdump-zlib-d31").require()
    let cache = try TemporaryDirectory("debuginfod-cache")
    let info = try BoundedProcess.run(
      KdigProcess.binary, ["info", "--dump", s.file], timeout: 60,
      environment: environment(urls: url, cache: cache, sysroot: try DebugSysroot([])))
    #expect(info.status == 0, "\(info)")
    #expect(info.stderr.contains("debuginfod: cannot fetch build-id"), "\(info.stderr)")
    #expect(info.stdout.contains("KERNEL: (no vmlinux)"), "\(info.stdout.prefix(300))")
  }

  @Test func serverThatNeverAnswersIsBoundedByDebuginfodTimeout() throws {
    let silent = try LoopbackSocket(listening: true)
    let (run, kernel) = try withExtendedLifetime(silent) {
      try checkWithoutVmlinux(urls: "http://127.0.0.1:\(silent.port)", extra: ["DEBUGINFOD_TIMEOUT": "2"])
    }
    #expect(run.seconds < 30, "\(run)")
    #expect((kernel["vmlinuxNotice"] as? String ?? "").contains("within DEBUGINFOD_TIMEOUT"), "\(kernel)")
  }

  @Test func missingLibraryIsNamed() throws {
    let (_, kernel) = try checkWithoutVmlinux(
      urls: "http://127.0.0.1:\(try LoopbackSocket.freePort())", extra: ["KDIG_LIBDEBUGINFOD": "/nonexistent/libdebuginfod.so.1"])
    #expect(
      (kernel["vmlinuxNotice"] as? String ?? "").contains(
        "DEBUGINFOD_URLS is set but /nonexistent/libdebuginfod.so.1 cannot be loaded"), "\(kernel)")
  }
}
