#if DEBUG
import CSodium
import Synchronization

/// The seeded random source of the fixture generator: a libsodium `randombytes` implementation
/// built on `randombytes_buf_deterministic`, installed with `randombytes_set_implementation` before
/// libsodium is initialised.
///
/// It exists only in this executable, which is not a product and is never linked into the library
/// or the `session-vault` command; the library itself has no seeding hook. Every call to
/// `randombytes_buf` draws a fresh ChaCha20 stream whose 32-byte seed is the current seed with its
/// last 8 bytes XORed with a call counter. ``reseed(_:)`` restarts the sequence from a label, so each
/// fixture's bytes depend only on the steps that make that fixture.
enum DeterministicRandom {
    /// The name libsodium reports after installation (`randombytes_implementation_name()`).
    static let implementationName = "sessionvault-fixtures-deterministic"

    private struct State {
        var seed: [UInt8]
        var counter: UInt64
    }

    private static let state = Mutex(State(seed: seed(for: "initial"), counter: 0))

    /// Installs the implementation. Must run before the first `sodium_init` of the process.
    /// - Returns: false when libsodium reports another implementation afterwards.
    static func install() -> Bool {
        let implementation = UnsafeMutablePointer<randombytes_implementation>.allocate(capacity: 1)
        implementation.initialize(
            to: randombytes_implementation(
                implementation_name: { DeterministicRandom.namePointer },
                random: {
                    var value: UInt32 = 0
                    withUnsafeMutableBytes(of: &value) { DeterministicRandom.fill($0.baseAddress, $0.count) }
                    return value
                },
                stir: nil,
                uniform: nil,
                buf: { buffer, size in DeterministicRandom.fill(buffer, size) },
                close: nil
            )
        )
        // Deliberately never freed: libsodium keeps the pointer for the life of the process.
        guard randombytes_set_implementation(implementation) == 0 else { return false }
        guard sodium_init() >= 0 else { return false }
        return String(cString: randombytes_implementation_name()) == implementationName
    }

    /// Restarts the random sequence from `label` (counter 0).
    static func reseed(_ label: String) {
        let seed = seed(for: label)
        state.withLock {
            $0.seed = seed
            $0.counter = 0
        }
    }

    /// seed(label) = BLAKE2b-256("sessionvault fixtures v1 rng\0" || label), unkeyed.
    private static func seed(for label: String) -> [UInt8] {
        var seed = [UInt8](repeating: 0, count: Int(randombytes_SEEDBYTES))
        let message = Array("sessionvault fixtures v1 rng".utf8) + [0] + Array(label.utf8)
        _ = crypto_generichash(&seed, seed.count, message, UInt64(message.count), nil, 0)
        return seed
    }

    /// The same name, NUL-terminated, in static storage (libsodium keeps the pointer).
    private static let nameBytes: StaticString = "sessionvault-fixtures-deterministic\0"

    private static var namePointer: UnsafePointer<CChar> {
        UnsafeRawPointer(nameBytes.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    private static func fill(_ buffer: UnsafeMutableRawPointer?, _ size: Int) {
        guard let buffer, size > 0 else { return }
        var callSeed = state.withLock { state -> [UInt8] in
            var seed = state.seed
            withUnsafeBytes(of: state.counter.littleEndian) { counter in
                for index in 0..<8 { seed[24 + index] ^= counter[index] }
            }
            state.counter += 1
            return seed
        }
        randombytes_buf_deterministic(buffer, size, &callSeed)
    }
}
#endif
