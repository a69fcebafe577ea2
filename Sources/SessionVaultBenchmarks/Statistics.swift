/// Median and spread of repeated measurements of one figure.
public struct Statistic: Codable, Sendable, Hashable {
    /// The median of the runs.
    public var median: Double
    /// The smallest run.
    public var min: Double
    /// The largest run.
    public var max: Double
    /// How many runs.
    public var runs: Int

    /// Summarises `samples` (at least one).
    public init(_ samples: [Double]) {
        let sorted = samples.sorted()
        runs = sorted.count
        min = sorted.first ?? 0
        max = sorted.last ?? 0
        if sorted.isEmpty {
            median = 0
        } else if sorted.count % 2 == 1 {
            median = sorted[sorted.count / 2]
        } else {
            median = (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }

    /// `(max - min) / median`, as a fraction.
    public var relativeSpread: Double { median == 0 ? 0 : (max - min) / median }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
