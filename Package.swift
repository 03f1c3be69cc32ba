// swift-tools-version: 6.1
// kdig: Linux x86-64 crash-dump analysis. Targets are the layers of docs/architecture.md;
// dependencies point one way: bytes → physical memory → dump formats → translation →
// kernel image → analyzers → output → CLI.
import PackageDescription

let package = Package(
  name: "kdig",
  products: [
    .executable(name: "kdig", targets: ["kdig"]),
    .library(name: "Kdig", targets: ["Kdig"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // C libraries: each is imported by exactly one Swift target.
    .systemLibrary(
      name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(
      name: "CLZO", pkgConfig: "lzo2", providers: [.apt(["liblzo2-dev"])]),
    .systemLibrary(
      name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
    .systemLibrary(
      name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(
      name: "CElfUtils", pkgConfig: "libdw", providers: [.apt(["libdw-dev", "libelf-dev"])]),

    // Layer 0: bounds-checked bytes, mapped files, errors with locations.
    .target(name: "KdigBinary"),
    // Layer 1: the physical-memory interface every reader implements.
    .target(name: "KdigMemory", dependencies: ["KdigBinary"]),
    // Page codecs (the only importer of zlib, lzo, snappy and zstd).
    .target(
      name: "KdigCodecs", dependencies: ["KdigBinary", "CZlib", "CLZO", "CSnappy", "CZstd"]),
    // Layer 2: dump files → physical memory + notes.
    .target(name: "KdigDump", dependencies: ["KdigBinary", "KdigMemory", "KdigCodecs"]),
    // Layer 3: x86-64 address translation; reads physical memory only.
    .target(name: "KdigTranslation", dependencies: ["KdigBinary", "KdigMemory"]),
    // Layer 4: the kernel image: vmlinux symbols/types (libelf, libdw), VMCOREINFO, layout.
    .target(
      name: "KdigKernel",
      dependencies: ["KdigBinary", "KdigMemory", "KdigDump", "KdigTranslation", "CElfUtils"]),
    // x86-64 architecture facts as named types, one pure decoder each (no I/O): gate and
    // segment descriptors, selectors, entry-stub instructions.
    .target(name: "KdigX86", dependencies: ["KdigBinary"]),
    // Layer 5: analyzers (machine info, typed values, memory words, IDT).
    .target(
      name: "KdigAnalyzers",
      dependencies: ["KdigBinary", "KdigMemory", "KdigTranslation", "KdigKernel", "KdigX86"]),
    // Layer 6: text and JSON renderers.
    .target(name: "KdigOutput", dependencies: ["KdigBinary", "KdigAnalyzers"]),
    // The library product: a session that opens a dump and its vmlinux.
    .target(
      name: "Kdig",
      dependencies: [
        "KdigBinary", "KdigMemory", "KdigDump", "KdigTranslation", "KdigKernel", "KdigX86",
        "KdigAnalyzers", "KdigOutput",
      ]),
    // Layer 7: the CLI.
    .executableTarget(
      name: "kdig",
      dependencies: ["Kdig", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

    // Benchmarks (prints ratios against drgn / crash; see docs/benchmarks.md).
    .executableTarget(name: "kdig-bench", dependencies: ["Kdig"], path: "Samples/Bench"),

    // Fuzzing (docs/hardening.md "Fuzzing"): one entry per parser, built in every build;
    // `kdig-fuzz` replays files, or is libFuzzer's harness when built with -DKDIG_LIBFUZZER.
    .target(name: "KdigFuzzTargets", dependencies: ["Kdig"], path: "Fuzz/Targets"),
    .executableTarget(name: "kdig-fuzz", dependencies: ["KdigFuzzTargets"], path: "Fuzz/Driver"),

    // Tests: fixture builders shared by every test target.
    .target(
      name: "KdigTestSupport", dependencies: ["Kdig", "KdigCodecs"],
      path: "Tests/KdigTestSupport"),
    .testTarget(name: "KdigBinaryTests", dependencies: ["KdigBinary", "KdigTestSupport"]),
    .testTarget(
      name: "KdigDumpTests", dependencies: ["KdigDump", "KdigCodecs", "KdigTestSupport"]),
    .testTarget(
      name: "KdigTranslationTests", dependencies: ["KdigTranslation", "KdigTestSupport"]),
    .testTarget(
      name: "KdigKernelTests", dependencies: ["KdigKernel", "KdigAnalyzers", "KdigTestSupport"]),
    .testTarget(name: "KdigX86Tests", dependencies: ["KdigX86", "KdigBinary"]),
    .testTarget(name: "KdigCLITests", dependencies: ["KdigTestSupport"]),
    .testTarget(name: "KdigIntegrationTests", dependencies: ["Kdig", "KdigTestSupport"]),
    // Every kept fuzz crasher and committed seed through its target, in-process.
    .testTarget(
      name: "KdigFuzzTests", dependencies: ["KdigFuzzTargets", "KdigTestSupport"],
      path: "Tests/KdigFuzzTests"),
    // The repository itself: no path that only one machine has (Samples/README.md).
    .testTarget(name: "KdigRepoTests", dependencies: ["KdigTestSupport"]),
  ]
)
