package import SessionVaultKit

/// The synthetic sessions of the operator tools (`demo`, `soak`, `bench`): Telegram's production
/// data centers with fresh random auth keys, a bot account, an update state and a number of channel
/// states. Nothing in them is real; what the tools choose differently is a parameter.
///
/// The fixture generator (`sv-fixtures`) builds its own sessions: theirs have deterministic keys,
/// and the bytes of `Fixtures/` are pinned.
package enum SyntheticSession {
    /// The data centers a synthetic session has unless told otherwise.
    package static let defaultDataCenters: [Int32] = [1, 2, 4]

    /// The channel id of synthetic channel number `index`.
    package static func channelID(_ index: Int) -> Int64 { 1_000_000_000_000 + Int64(index) * 7_919 }

    /// A synthetic session.
    /// - Parameters:
    ///   - dataCenters: The DC ids, each at its well-known production IPv4 address on port 443
    ///     (``WellKnownDataCenters``), DC 2 also at its IPv6 address, each with a random auth key.
    ///   - channels: How many channel states, with ids ``channelID(_:)`` of 0 ..< `channels`.
    ///   - pts: The pts of channel number `index`.
    ///   - user: The logged-in account.
    ///   - apiID: The application's api id.
    package static func make(
        dataCenters: [Int32] = defaultDataCenters,
        channels: Int,
        pts: (_ index: Int) -> Int32,
        user: LoggedInUser,
        apiID: Int32?
    ) throws(VaultError) -> Session {
        var states: [Int64: Int32] = [:]
        states.reserveCapacity(channels)
        for index in 0..<channels { states[channelID(index)] = pts(index) }
        var centers: [DataCenter] = []
        for id in dataCenters {
            centers.append(
                DataCenter(
                    id: id,
                    ipv4: WellKnownDataCenters.endpoint(dataCenter: id, testMode: false),
                    ipv6: id == 2 ? Endpoint(host: "2001:67c:4e8:f002::a", port: 443) : nil,
                    authKey: try AuthKey.random()
                )
            )
        }
        return Session(
            dataCenters: centers,
            user: user,
            updateState: UpdateState(pts: 1, qts: 0, date: 1_764_000_000, seq: 1, channels: states),
            apiID: apiID
        )
    }
}
