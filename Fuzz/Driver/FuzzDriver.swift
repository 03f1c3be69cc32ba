// kdig-fuzz: replays inputs through a fuzz target (`kdig-fuzz TARGET FILE|DIR...`), makes
// seeds from the sample dumps (`kdig-fuzz --make-seeds DIR`), or, built with
// `-sanitize=fuzzer -DKDIG_LIBFUZZER`, is libFuzzer's harness for the target named by
// KDIG_FUZZ_TARGET. docs/hardening.md "Fuzzing".
//
// SwiftPM links an executable with main as an alias of `<module>_main`, so libFuzzer's own
// main is never linked; the entry point hands the arguments to LLVMFuzzerRunDriver instead.

import Foundation
import KdigFuzzTargets

#if KDIG_LIBFUZZER
  /// The target, chosen once from the environment; a wrong name stops at the first input.
  nonisolated(unsafe) private var selected: FuzzTarget?

  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if selected == nil {
      let name = ProcessInfo.processInfo.environment["KDIG_FUZZ_TARGET"] ?? ""
      guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("kdig-fuzz: set KDIG_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
      }
      selected = target
    }
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected?.run(bytes)
    return 0
  }

  /// libFuzzer's driver (compiler-rt FuzzerInterface.h), in the fuzzer runtime.
  @_silgen_name("LLVMFuzzerRunDriver")
  func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
  ) -> CInt

  /// The executable's entry point under SwiftPM's name for it.
  @_cdecl("kdig_fuzz_main")
  public func fuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
  ) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
  }
#else
  @main struct KdigFuzz {
    static let usage = """
      usage: kdig-fuzz TARGET FILE|DIR...   run each input (a directory: every file in it)
             kdig-fuzz --make-seeds DIR     cut seeds per target from the sample dumps
             kdig-fuzz --list               the targets
      """

    static func main() {
      let args = Array(CommandLine.arguments.dropFirst())
      switch args.first {
      case "--list":
        for t in FuzzTarget.allCases { print(t.rawValue) }
      case "--make-seeds":
        guard args.count == 2 else { fail(usage) }
        do {
          let made = try FuzzSeeds.make(into: args[1]) { print($0) }
          print("\(made) seeds in \(args[1])")
        } catch {
          fail("kdig-fuzz: \(error)")
        }
      case let name? where args.count >= 2:
        guard let target = FuzzTarget(rawValue: name) else { fail("kdig-fuzz: no target \(name)\n\(usage)") }
        let files = args.dropFirst().flatMap { FuzzCorpus.files(at: $0) }
        for file in files {
          guard let bytes = FileManager.default.contents(atPath: file) else { fail("kdig-fuzz: cannot read \(file)") }
          let start = Date()
          var outcome = "ran"
          do { try target.check(Array(bytes)) } catch { outcome = "stopped early: \(error)" }
          print(String(format: "%@: %.3f s: ", file, Date().timeIntervalSince(start)) + outcome)
        }
      default:
        fail(usage)
      }
    }

    static func fail(_ message: String) -> Never {
      FileHandle.standardError.write(Data((message + "\n").utf8))
      exit(2)
    }
  }
#endif
