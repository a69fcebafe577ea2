/// One line of `session-vault soak` output: a transaction about to start, one that committed, one
/// that failed, or the state re-read after a failure.
///
/// The text form (``description``, parsed back by ``init(line:)``) is one line of space-separated
/// fields, stable for scripts and the crash harness:
///
/// ```
/// begin 42 passwd 0f1e2d3c4b5a69788796a5b4c3d2e1f0 key=1
/// commit 42 passwd 0f1e2d3c4b5a69788796a5b4c3d2e1f0 key=1
/// failed 43 dc 5a69788796a5b4c3d2e1f00f1e2d3c4b key=1 io: SQLite error 778: disk I/O error (in COMMIT)
/// verified 42 passwd 0f1e2d3c4b5a69788796a5b4c3d2e1f0 key=1
/// ```
///
/// `begin` names the generation, the operation and the ``SessionDigest`` of the state the
/// transaction will commit, and the passphrase (0: `SESSION_VAULT_PASSPHRASE`, 1:
/// `SESSION_VAULT_NEW_PASSPHRASE`) that will unlock the vault afterwards. `commit` repeats them
/// once the transaction is durable. Generation 0 is the state found at open (`open`) or the new
/// empty vault (`create`). Nothing in a line is secret.
public struct SoakEvent: Hashable, Sendable, CustomStringConvertible {
    /// What the line reports.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A transaction is about to start (written before any of its bytes reach the disk).
        case begin
        /// The transaction is durable.
        case commit
        /// The transaction failed; the process keeps running and checks what is stored.
        case failed
        /// After a failure: every stored record was re-read and authenticated, and equals this state.
        case verified
    }

    /// What a transaction does.
    public enum Operation: String, Hashable, Sendable, CaseIterable {
        /// Creating a new, empty vault (generation 0).
        case create
        /// Opening an existing vault (generation 0).
        case open
        /// Storing the synthetic session in an empty vault.
        case initial = "init"
        /// The account-wide update state (every iteration).
        case state
        /// One channel's pts.
        case channel
        /// A data center entry with a new auth key.
        case dataCenter = "dc"
        /// A passphrase change (alternating between the two passphrases).
        case passphraseChange = "passwd"
        /// A data-key rotation.
        case rotation = "rotate"
    }

    /// What the line reports.
    public var kind: Kind
    /// The transaction's generation: 0 at open, then one more per transaction.
    public var generation: Int
    /// What the transaction does.
    public var operation: Operation
    /// The digest of the state the transaction commits (or, for `verified`, the state found).
    public var digest: SessionDigest
    /// Which passphrase unlocks the vault once the transaction commits.
    public var passphraseIndex: Int
    /// For `failed`: the error code and message (never secret).
    public var detail: String?

    /// Creates an event.
    public init(
        _ kind: Kind,
        generation: Int,
        operation: Operation,
        digest: SessionDigest,
        passphraseIndex: Int,
        detail: String? = nil
    ) {
        self.kind = kind
        self.generation = generation
        self.operation = operation
        self.digest = digest
        self.passphraseIndex = passphraseIndex
        self.detail = detail
    }

    /// Parses one output line; nil for any other line (the summary, pauses).
    public init?(line: some StringProtocol) {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5,
            let kind = Kind(rawValue: String(fields[0])),
            let generation = Int(fields[1]),
            let operation = Operation(rawValue: String(fields[2])),
            let digest = SessionDigest(hex: fields[3]),
            fields[4].hasPrefix("key="),
            let index = Int(fields[4].dropFirst(4))
        else { return nil }
        self.init(
            kind,
            generation: generation,
            operation: operation,
            digest: digest,
            passphraseIndex: index,
            detail: fields.count > 5 ? String(fields[5]) : nil
        )
    }

    /// The one-line text form.
    public var description: String {
        let line = "\(kind.rawValue) \(generation) \(operation.rawValue) \(digest) key=\(passphraseIndex)"
        guard let detail else { return line }
        return line + " " + detail.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
