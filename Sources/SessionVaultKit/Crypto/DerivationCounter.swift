import Synchronization

/// Counts the Argon2id derivations that run inside one task: the way tests prove that a refusal came
/// before any key derivation, without timing it. A test binds a new counter to
/// `DerivationCounter.$current` around an open and checks ``count`` afterwards.
package final class DerivationCounter: Sendable {
    /// The counter of the current task (and the tasks it starts), if any.
    @TaskLocal package static var current: DerivationCounter?

    private let derivations = Mutex(0)

    /// A counter at zero.
    package init() {}

    /// How many derivations ran while this counter was current.
    package var count: Int { derivations.withLock { $0 } }

    /// Adds one derivation to the current task's counter, if it has one.
    static func recordDerivation() {
        current?.derivations.withLock { $0 += 1 }
    }
}
