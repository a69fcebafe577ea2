public import SessionVaultKit

/// What one `session-vault soak` run did: transactions by operation, time, rate, and the failure
/// that stopped it, if any.
public struct SoakSummary: Sendable, CustomStringConvertible {
    /// Committed transactions per operation (generation 0 not counted).
    public var committed: [SoakEvent.Operation: Int] = [:]
    /// The wall-clock time from the first transaction to the last.
    public var elapsed: Duration = .zero
    /// The last committed generation.
    public var generation = 0
    /// The digest of the last committed state.
    public var digest = SessionDigest(of: Session())
    /// The error that stopped the run early; nil when it ran until its time or transaction limit.
    public var failure: VaultError?

    /// Creates an empty summary.
    public init() {}

    /// Every committed transaction.
    public var transactions: Int { committed.values.reduce(0, +) }

    /// Committed transactions per second.
    public var rate: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(transactions) / seconds : 0
    }

    /// `summary transactions=… seconds=… rate=…/s state=… channel=… dc=… passwd=… rotate=… failed=…`.
    public var description: String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var fields = [
            "summary",
            "transactions=\(transactions)",
            "seconds=\(Self.decimal(seconds, places: 2))",
            "rate=\(Self.decimal(rate, places: 1))/s",
        ]
        for operation in [SoakEvent.Operation.initial, .state, .channel, .dataCenter, .passphraseChange, .rotation] {
            fields.append("\(operation.rawValue)=\(committed[operation, default: 0])")
        }
        fields.append("generation=\(generation)")
        fields.append("digest=\(digest)")
        fields.append("failed=\(failure == nil ? "no" : "yes")")
        return fields.joined(separator: " ")
    }

    /// Fixed-point text without Foundation (`12.34`).
    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        let fraction = String(scaled % Int(scale))
        return "\(whole)." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
