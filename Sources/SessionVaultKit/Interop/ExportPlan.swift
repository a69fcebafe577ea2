/// What a single-data-center format (Telethon 1.x, Pyrogram) gets from a vault session: the one
/// data center it can hold, its endpoint, and notes about what does not fit.
struct ExportPlan {
    var dataCenter: DataCenter?
    var endpoint: Endpoint?
    var notes: [String] = []

    /// Picks the data center: the logged-in user's home DC when it has a key, else the only DC with
    /// a key, else the lowest id with a key; the endpoint is IPv4 when known, else IPv6, else the
    /// well-known address of that DC.
    init(session: Session, formatName: String) {
        let main = session.dataCenters.filter { !$0.isMediaOnly }
        let keyed = main.filter { $0.authKey != nil }
        if let home = session.user?.dataCenterID, let dc = keyed.first(where: { $0.id == home }) {
            dataCenter = dc
        } else if let first = keyed.min(by: { $0.id < $1.id }) {
            dataCenter = first
            if keyed.count > 1 {
                notes.append("the user's home DC has no key; exported DC \(first.id), the lowest id with a key")
            }
        } else {
            dataCenter = main.min { $0.id < $1.id }
        }
        if let chosen = dataCenter {
            let dropped = session.dataCenters.filter { $0.identity != chosen.identity && ($0.authKey != nil || $0.isMediaOnly) }
            if !dropped.isEmpty {
                let names = dropped.map { "\($0.id)\($0.isMediaOnly ? " (media)" : "")" }.joined(separator: ", ")
                notes.append("\(formatName) holds one data center: the keys of DC \(names) were not exported")
            }
            if let ipv4 = chosen.ipv4 {
                endpoint = ipv4
            } else if let ipv6 = chosen.ipv6 {
                endpoint = ipv6
            } else if let known = WellKnownDataCenters.endpoint(dataCenter: chosen.id, testMode: session.isTestMode) {
                endpoint = known
                notes.append("DC \(chosen.id) has no stored address; exported the well-known \(known)")
            }
        }
    }

    /// The data center with its auth key, or an error naming what is missing.
    func requireKeyedDataCenter(formatName: String) throws(VaultError) -> (DataCenter, AuthKey) {
        guard let dataCenter, let key = dataCenter.authKey else {
            throw VaultError(.invalidArgument, "the session holds no auth key, so there is nothing to put in a \(formatName)")
        }
        return (dataCenter, key)
    }
}
