// Fetches a vmlinux by build-id from the debuginfod servers in DEBUGINFOD_URLS, as drgn and gdb
// do, through elfutils' libdebuginfod. The library is loaded at run time (dlopen), so kdig
// neither links against it nor needs it installed. Its API (elfutils debuginfod/debuginfod.h):
//
//   debuginfod_client *debuginfod_begin (void);
//   int debuginfod_find_debuginfo (debuginfod_client *client, const unsigned char *build_id,
//                                  int build_id_len, char **path);
//       build_id_len > 0: build_id is that many raw bytes. Returns a file descriptor, or a
//       negative POSIX error code; *path is a strdup'd name of the file in the client cache,
//       which the caller frees.
//   void debuginfod_end (debuginfod_client *client);
//
// The library itself reads DEBUGINFOD_URLS, DEBUGINFOD_CACHE_PATH (its cache: a second lookup
// of the same build-id is a local file) and DEBUGINFOD_TIMEOUT (default 90 s per server).

#if canImport(Glibc)
  import Glibc
#endif

/// What asking the debuginfod servers for a build-id gave.
public enum DebuginfodResult: Sendable, Equatable {
  /// The file, in the client cache.
  case found(path: String)
  /// Why not: no server has it, none answered, or the library is missing.
  case failed(String)
}

/// A debuginfod client configured by `DEBUGINFOD_URLS`.
public struct DebuginfodClient: Sendable {
  /// The shared library elfutils installs (Debian: libdebuginfod1).
  public static let defaultLibrary = "libdebuginfod.so.1"

  /// The servers, as `DEBUGINFOD_URLS` lists them (for messages; the library reads the variable).
  public var urls: String
  /// The library to load.
  public var library: String

  /// nil when `urls` is unset or blank: debuginfod is not configured.
  public init?(urls: String?, library: String? = nil) {
    guard let urls, urls.contains(where: { !$0.isWhitespace }) else { return nil }
    self.urls = urls
    self.library = library.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultLibrary
  }

  private typealias Begin = @convention(c) () -> OpaquePointer?
  private typealias FindDebuginfo =
    @convention(c) (OpaquePointer?, UnsafePointer<UInt8>?, Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32
  private typealias End = @convention(c) (OpaquePointer?) -> Void

  /// The debuginfo file (for a kernel: the vmlinux with DWARF) whose build-id is `buildID` (hex).
  public func findDebuginfo(buildID: String) -> DebuginfodResult {
    guard let id = Self.bytes(ofHex: buildID) else {
      return .failed("BUILD-ID \(buildID) is not a hexadecimal build-id")
    }
    // Never dlclose'd: libcurl inside keeps process-wide state.
    guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
      return .failed(
        "DEBUGINFOD_URLS is set but \(library) cannot be loaded (\(Self.dlerrorText())): install libdebuginfod1 "
          + "(Debian, Ubuntu) or elfutils-debuginfod-client (Fedora) to fetch the vmlinux by build-id")
    }
    guard let beginSymbol = dlsym(handle, "debuginfod_begin"),
      let findSymbol = dlsym(handle, "debuginfod_find_debuginfo"),
      let endSymbol = dlsym(handle, "debuginfod_end")
    else {
      return .failed("\(library) lacks debuginfod_begin, debuginfod_find_debuginfo or debuginfod_end (\(Self.dlerrorText()))")
    }
    let begin = unsafeBitCast(beginSymbol, to: Begin.self)
    let find = unsafeBitCast(findSymbol, to: FindDebuginfo.self)
    let end = unsafeBitCast(endSymbol, to: End.self)
    guard let client = begin() else { return .failed("debuginfod_begin failed (\(library))") }
    defer { end(client) }
    var path: UnsafeMutablePointer<CChar>?
    let fd = id.withUnsafeBufferPointer { find(client, $0.baseAddress, Int32($0.count), &path) }
    defer { free(path) }
    guard fd >= 0 else { return .failed(describe(errno: -fd, buildID: buildID)) }
    close(fd)
    guard let path else { return .failed("debuginfod_find_debuginfo returned no path for build-id \(buildID)") }
    return .found(path: String(cString: path))
  }

  /// Why a lookup failed, naming the servers asked.
  func describe(errno code: Int32, buildID: String) -> String {
    if code == ENOENT { return "no server in DEBUGINFOD_URLS=\(urls) has build-id \(buildID)" }
    if code == ETIME {
      return "no answer for build-id \(buildID) from DEBUGINFOD_URLS=\(urls) within DEBUGINFOD_TIMEOUT (default 90 s)"
    }
    return "cannot fetch build-id \(buildID) from DEBUGINFOD_URLS=\(urls): \(String(cString: strerror(code)))"
  }

  /// "d74e…" as bytes; nil unless it is an even number of hex digits.
  static func bytes(ofHex hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
      guard let high = hexValue(digits[i]), let low = hexValue(digits[i + 1]) else { return nil }
      out.append(high << 4 | low)
      i += 2
    }
    return out
  }

  private static func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }

  private static func dlerrorText() -> String {
    guard let e = dlerror() else { return "no reason given" }
    return String(cString: e)
  }
}
