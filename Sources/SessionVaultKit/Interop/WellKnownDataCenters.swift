/// Telegram's published data center addresses, used where a format stores only a DC id.
///
/// Pyrogram files (schema 3) and Pyrogram strings keep no address: the library picks one from a
/// built-in table by DC id and test mode. These are the tables of Kurigram 2.2.26
/// (`pyrogram/storage/sqlite_storage.py`, `PROD` and `TEST`), which are also what Pyrogram 2.0.106
/// connects to: production on port 443, test servers on port 80.
public enum WellKnownDataCenters {
    /// Production IPv4 addresses by DC id (port 443).
    public static let production: [Int32: String] = [
        1: "149.154.175.53",
        2: "149.154.167.51",
        3: "149.154.175.100",
        4: "149.154.167.91",
        5: "91.108.56.130",
        203: "91.105.192.100",
    ]
    /// Test-server IPv4 addresses by DC id (port 80).
    public static let test: [Int32: String] = [
        1: "149.154.175.10",
        2: "149.154.167.40",
        3: "149.154.175.117",
    ]

    /// The well-known endpoint of DC `id` in production or on the test servers, if there is one.
    public static func endpoint(dataCenter id: Int32, testMode: Bool) -> Endpoint? {
        if testMode {
            return test[id].map { Endpoint(host: $0, port: 80) }
        }
        return production[id].map { Endpoint(host: $0, port: 443) }
    }

    /// Whether `endpoint` is the well-known address of DC `id` (for `show` to say that an address
    /// may have been inferred from the DC id rather than stored by the source library).
    public static func isWellKnown(_ endpoint: Endpoint, dataCenter id: Int32, testMode: Bool) -> Bool {
        self.endpoint(dataCenter: id, testMode: testMode) == endpoint
    }
}
