#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CSQLite
import Synchronization

/// libsqlite3, loaded at run time with `dlopen` (never linked), so that a machine without it gets
/// the memory-only fallback instead of a program that does not start.
///
/// The library is looked up once per distinct candidate list and never unloaded. The candidates are:
/// the path in `SESSION_VAULT_SQLITE_LIBRARY` when that variable is set (and only it; it must be
/// absolute: whoever sets it chooses code this process runs, as with `LD_PRELOAD`), otherwise
/// `libsqlite3.so.0`, then `libsqlite3.so` (`libsqlite3.dylib` on Apple platforms).
struct SQLiteLibrary: @unchecked Sendable {
    // @unchecked Sendable: csqlite_api is a table of C function pointers into a library that is
    // never unloaded; it is written once, before it is shared, and only read afterwards.

    let api: csqlite_api
    /// `sqlite3_libversion()`, e.g. `3.40.1`.
    let version: String

    /// The environment variable that names the library to load instead of the system one.
    static let environmentVariable = "SESSION_VAULT_SQLITE_LIBRARY"

    private static let cache = Mutex<[[String]: Result<SQLiteLibrary, VaultError>]>([:])

    /// The default candidates, honouring ``environmentVariable``.
    static func defaultCandidates() -> [String] {
        if let override = getenv(environmentVariable), override.pointee != 0 {
            return [String(cString: override)]
        }
        #if canImport(Darwin)
        return ["libsqlite3.dylib", "/usr/lib/libsqlite3.dylib"]
        #else
        return ["libsqlite3.so.0", "libsqlite3.so"]
        #endif
    }

    /// Loads (once) the first candidate that works.
    /// - Parameter path: an explicit library path; nil uses ``defaultCandidates()``.
    static func load(path: String? = nil) -> Result<SQLiteLibrary, VaultError> {
        let candidates = path.map { [$0] } ?? defaultCandidates()
        // The override is code this process will run, at the trust level of LD_PRELOAD: a relative
        // name would be resolved against the working directory (or searched for), so only an
        // absolute path is taken.
        if path == nil, getenv(environmentVariable) != nil, let override = candidates.first, !override.hasPrefix("/") {
            return .failure(
                VaultError(.sqliteUnavailable, "\(environmentVariable) must be an absolute path (it names code this process loads)")
            )
        }
        return cache.withLock { cache in
            if let cached = cache[candidates] { return cached }
            let result = loadUncached(candidates)
            cache[candidates] = result
            return result
        }
    }

    private static func loadUncached(_ candidates: [String]) -> Result<SQLiteLibrary, VaultError> {
        var api = csqlite_api()
        var reason = [CChar](repeating: 0, count: 512)
        let status = withCStrings(candidates) { paths in
            csqlite_load(paths, &api, &reason, Int32(reason.count))
        }
        guard status == 0 else {
            let why = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(
                VaultError(.sqliteUnavailable, "libsqlite3 could not be loaded (\(why.isEmpty ? "no candidate" : why))")
            )
        }
        guard api.threadsafe() != 0 else {
            return .failure(VaultError(.sqliteUnavailable, "the loaded libsqlite3 was built without thread safety"))
        }
        guard api.libversion_number() >= 3_037_000 else {
            return .failure(VaultError(.sqliteUnavailable, "libsqlite3 \(cString(api.libversion())) is older than 3.37"))
        }
        let initialized = api.initialize()
        guard initialized == CSQLITE_OK else {
            return .failure(VaultError(.sqliteUnavailable, "sqlite3_initialize failed with code \(initialized)"))
        }
        return .success(SQLiteLibrary(api: api, version: cString(api.libversion())))
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
        }
    }
}

/// A Swift string from a C string SQLite returned (empty for NULL).
package func cString(_ pointer: UnsafePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
}
