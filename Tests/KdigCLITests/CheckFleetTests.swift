// Samples/fleet/check-fleet.sh (docs/ci.md, "Beyond one machine") with an ssh stand-in that
// runs the remote command here under two host names: GNU parallel hands the batches to both
// hosts, their JSON Lines merge into one stream with one summary recomputed from the dump
// lines, and the exit code is check's. A host that does not answer leaves error lines.

import Foundation
import KdigTestSupport
import Testing

@Suite struct CheckFleetTests {
  /// An ssh that logs the host it was asked for and runs the command locally, as sshd would
  /// through the remote shell, with the SHELL sshd sets. Hosts named `down*` do not answer
  /// (ssh's exit 255).
  static let standIn = """
    #!/bin/bash
    log=$(dirname "$0")/hosts.log
    host=$1; shift
    [[ $1 == -- ]] && shift
    echo "$host" >> "$log"
    [[ $host == down* ]] && { echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255; }
    # sshd gives the remote command the user's login shell as SHELL; parallel's remote wrapper
    # runs `exec $SHELL -c …` and does nothing without it (CI's environment has no SHELL).
    SHELL=$(getent passwd "$(id -u)" | cut -d: -f7)
    export SHELL=${SHELL:-/bin/sh}
    exec bash -c "$*"
    """

  struct Fleet {
    let dir: TemporaryDirectory
    let ssh: String
    var hostsUsed: [String] {
      ((try? String(contentsOfFile: dir.path + "/hosts.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    init() throws {
      dir = try TemporaryDirectory("fleet")
      ssh = dir.path + "/ssh"
      try CheckFleetTests.standIn.write(toFile: ssh, atomically: true, encoding: .utf8)
      try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ssh)
    }

    /// check-fleet.sh over `dumps`, bounded in time.
    func run(hosts: String, _ dumps: [String], sysroot: DebugSysroot, checkOptions: [String] = []) throws -> BoundedRun {
      _ = try TestTools.executable("parallel")
      let arguments =
        [Repository.path("Samples/fleet/check-fleet.sh"), "-S", hosts, "--ssh", ssh, "--kdig", KdigProcess.binary, "--batch", "2"]
        + dumps + ["--"] + checkOptions
      // PARALLEL_HOME: parallel's own files go to this test's directory, not ~/.parallel.
      return try BoundedProcess.run(
        "/bin/bash", arguments, timeout: 300,
        environment: ["KDIG_SYSROOT": sysroot.path, "PARALLEL_HOME": dir.path + "/parallel-home"])
    }
  }

  @Test func twoHostsMergeIntoOneSummary() throws {
    let samples = try ["6.12-qemu-elf", "6.1-kdump-zlib-d31", "6.12-qemu-kdump-zlib", "6.1-qemu-elf"].map {
      try Samples.named($0).require()
    }
    let root = try DebugSysroot(samples)
    let size = try #require(try FileManager.default.attributesOfItem(atPath: samples[0].file)[.size] as? Int)
    let handle = try #require(FileHandle(forReadingAtPath: samples[0].file))
    let cut = try TemporaryFile(Array(try handle.read(upToCount: size / 7) ?? Data()), name: "cut")
    try handle.close()
    let dumps = samples.map(\.file) + [cut.path]
    let fleet = try Fleet()
    let r = try fleet.run(hosts: "1/hostA,1/hostB", dumps, sysroot: root, checkOptions: ["--jobs", "1"])
    #expect(!r.timedOut, "\(r)")
    #expect(r.status == 2, "a truncated dump makes the exit 2: \(r)")
    #expect(Set(fleet.hostsUsed) == ["hostA", "hostB"], "\(fleet.hostsUsed)")

    let lines = try CheckLines(r.stdout)
    #expect(r.stdout.split(separator: "\n").filter { $0.contains(#""summary":"#) }.count == 1, "one summary")
    #expect(lines.dumps.compactMap { $0["dump"] as? String }.sorted() == dumps.sorted())
    for s in samples {
      let d = try lines.dump(s.file)
      #expect(d["status"] as? String == "ok", "\(s): \(d)")
      #expect((d["kernel"] as? [String: Any])?["vmlinux"] as? String == root.vmlinux(of: s))
    }
    #expect((try lines.dump(cut.path)["error"] as? [String: Any])?["category"] as? String == "malformed-input")
    // The summary, recomputed from the lines.
    let warnings = lines.dumps.flatMap { $0["findings"] as? [[String: Any]] ?? [] }.filter { $0["severity"] as? String == "warning" }
    #expect(lines.summary["total"] as? Int == 5)
    #expect(lines.summary["ok"] as? Int == 4)
    #expect(lines.summary["findings"] as? Int == 0)
    #expect(lines.summary["error"] as? Int == 1)
    #expect(lines.summary["warningCount"] as? Int == warnings.count && !warnings.isEmpty)
    #expect(lines.summary["exitCode"] as? Int == 2)
    #expect(lines.summary["jobs"] as? Int == 1)
    let valid = try CheckSchema.validate(r.stdout)
    #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")

    // Only the good dumps: exit 0.
    let good = try Fleet().run(hosts: "1/hostA,1/hostB", samples.map(\.file), sysroot: root)
    #expect(good.status == 0, "\(good)")
    #expect(try CheckLines(good.stdout).summary["ok"] as? Int == 4)
  }

  @Test func aHostThatDoesNotAnswerLeavesErrorLines() throws {
    let samples = try ["6.12-qemu-kdump-zlib", "6.1-kdump-zlib-d31", "6.1-kdump-lzo-d31", "6.1-qemu-kdump-zlib"].map {
      try Samples.named($0).require()
    }
    let root = try DebugSysroot(samples)
    let fleet = try Fleet()
    let r = try fleet.run(hosts: "1/up,1/down", samples.map(\.file), sysroot: root)
    #expect(!r.timedOut && r.status == 2, "\(r)")
    #expect(Set(fleet.hostsUsed) == ["up", "down"], "\(fleet.hostsUsed)")
    let lines = try CheckLines(r.stdout)
    #expect(lines.dumps.compactMap { $0["dump"] as? String }.sorted() == samples.map(\.file).sorted(), "each dump once")
    let lost = lines.dumps.filter { ($0["error"] as? [String: Any])?["category"] as? String == "crashed" }
    #expect(!lost.isEmpty && lost.count + (lines.summary["ok"] as? Int ?? 0) == samples.count, "\(r.stdout)")
    #expect(lost.allSatisfy { (($0["error"] as? [String: Any])?["message"] as? String ?? "").contains("no report from the fleet") })
    #expect(lines.summary["error"] as? Int == lost.count)
    #expect(r.stderr.contains("Connection refused"), "\(r.stderr)")
    let valid = try CheckSchema.validate(r.stdout)
    #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
  }
}
