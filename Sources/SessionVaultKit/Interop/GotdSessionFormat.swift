/// gotd's session JSON (gotd/td `session/session.go`, written by `session.FileStorage`):
/// `{"Version":1,"Data":{"Config":{…},"DC":2,"Addr":"…","AuthKey":"<base64>","AuthKeyID":"<base64>","Salt":0}}`,
/// Go `encoding/json` of `jsonData{Version, Data}`: fields in declaration order, `[]byte` as standard
/// padded base64, nil slices as `null`, no spaces.
///
/// `Config` is `session.Config` (a subset of `tg.Config`); its `DCOptions` are `tg.DCOption` values.
/// gotd's client keeps `Addr` empty and finds the address in `Config.DCOptions`; `TDesktopSession`
/// writes the bare IP. Read here: `DC`, the auth key (checked against `AuthKeyID`), `TestMode`, and
/// the main DC's addresses (its non-media, non-CDN options, else `Addr`, else the well-known one).
enum GotdSessionFormat {
    /// The `Version` gotd writes and reads (`latestVersion`).
    static let version: Int64 = 1

    /// Decodes trimmed JSON text.
    static func decode(_ text: UnsafeRawBufferPointer) throws(VaultError) -> ImportedSession {
        let root = try GuardedJSON.parse(text, what: "the gotd session")
        guard case .object = root else { throw VaultError(.invalidArgument, "the gotd session JSON is not an object") }
        guard let version = GuardedJSON.integer(root["Version"], in: text) else {
            throw VaultError(.invalidArgument, "the JSON has no numeric \"Version\": it is not a gotd session")
        }
        guard version == Self.version else {
            throw VaultError(.invalidArgument, "the gotd session has Version \(version); this build (like gotd) reads version 1")
        }
        guard let data = root["Data"], case .object = data else {
            throw VaultError(.invalidArgument, "the gotd session has no \"Data\" object")
        }
        guard let dc = GuardedJSON.integer(data["DC"], in: text), (1...255).contains(dc) else {
            throw VaultError(.invalidArgument, "the gotd session has no DC id between 1 and 255 in \"DC\"")
        }
        guard case .string(let keyRange, let keyEscaped) = data["AuthKey"], !keyEscaped else {
            throw VaultError(.invalidArgument, "the gotd session has no plain base64 \"AuthKey\" string")
        }
        guard let key = try GuardedBase64.decode(UnsafeRawBufferPointer(rebasing: text[keyRange]), padding: .standard),
            key.count == AuthKey.byteCount
        else {
            throw VaultError(.invalidArgument, "the gotd session's \"AuthKey\" is not 256 bytes of standard base64")
        }
        defer { key.wipe() }
        let authKey = try AuthKey(secret: key)
        guard let keyIDText = GuardedJSON.text(data["AuthKeyID"], in: text),
            let keyID = try GuardedBase64.decodeText(Substring(keyIDText), padding: .standard), keyID.count == 8
        else {
            throw VaultError(.invalidArgument, "the gotd session's \"AuthKeyID\" is not 8 bytes of standard base64")
        }
        guard constantTimeEqual(keyID, keyIDBytes(authKey)) else {
            throw VaultError(.corrupt, "the gotd session's \"AuthKeyID\" does not match its auth key (gotd refuses it as a corrupted key)")
        }
        let config = data["Config"]
        let testMode = GuardedJSON.bool(config?["TestMode"]) ?? false
        var notes = ["a gotd session holds the DC, its addresses and the auth key: no user, update state or peers"]
        var ipv4: Endpoint?
        var ipv6: Endpoint?
        var otherOptions = 0
        if case .array(let options) = config?["DCOptions"] {
            for option in options {
                guard let id = GuardedJSON.integer(option["ID"], in: text), let host = GuardedJSON.text(option["IPAddress"], in: text),
                    let port = GuardedJSON.integer(option["Port"], in: text), (1...65535).contains(port)
                else {
                    throw VaultError(.invalidArgument, "the gotd session has a DC option without a readable ID, IPAddress or Port")
                }
                let special = ["MediaOnly", "CDN", "TCPObfuscatedOnly"].contains { GuardedJSON.bool(option[$0]) == true }
                guard id == dc, !special else {
                    otherOptions += 1
                    continue
                }
                let endpoint = Endpoint(host: host, port: UInt16(port))
                if GuardedJSON.bool(option["Ipv6"]) == true || IPAddressText.isIPv6(host) {
                    if ipv6 == nil { ipv6 = endpoint } else { otherOptions += 1 }
                } else {
                    if ipv4 == nil { ipv4 = endpoint } else { otherOptions += 1 }
                }
            }
        }
        if otherOptions > 0 {
            notes.append("\(otherOptions) other DC option\(otherOptions == 1 ? "" : "s") of the stored config were not kept (gotd fetches the config again)")
        }
        if ipv4 == nil && ipv6 == nil, let address = GuardedJSON.text(data["Addr"], in: text), !address.isEmpty {
            if let endpoint = IPAddressText.splitHostPort(address) {
                if IPAddressText.isIPv6(endpoint.host) { ipv6 = endpoint } else { ipv4 = endpoint }
            } else {
                let endpoint = Endpoint(host: address, port: testMode ? 80 : 443)
                if IPAddressText.isIPv6(address) { ipv6 = endpoint } else { ipv4 = endpoint }
                notes.append("\"Addr\" holds no port; port \(endpoint.port) was assumed")
            }
        }
        if ipv4 == nil && ipv6 == nil {
            guard let known = WellKnownDataCenters.endpoint(dataCenter: Int32(dc), testMode: testMode) else {
                throw VaultError(.invalidArgument, "the gotd session holds no address for DC \(dc), which has no well-known one")
            }
            ipv4 = known
            notes.append("the address of DC \(dc) was inferred from the DC id and test mode (\(known)): the session stored none")
        }
        if let salt = GuardedJSON.integer(data["Salt"], in: text), salt != 0 {
            notes.append("the server salt was not kept (gotd asks the server for a new one)")
        }
        let session = Session(
            dataCenters: [DataCenter(id: Int32(dc), ipv4: ipv4, ipv6: ipv6, authKey: authKey)],
            isTestMode: testMode
        )
        return ImportedSession(session: session, format: .gotdJSON, schemaVersion: text.count, notes: notes)
    }

    /// The 8 bytes gotd stores as `AuthKeyID`: SHA-1(key)[12..<20].
    static func keyIDBytes(_ key: AuthKey) -> [UInt8] {
        Array(key.withUnsafeBytes { SHA1.digest($0) }[12..<20])
    }

    /// Go `encoding/json` of a string that holds no character it escapes (checked by the caller).
    private static func quoted(_ text: String) -> String { "\"\(text)\"" }

    private static func option(id: Int32, endpoint: Endpoint, ipv6: Bool) -> String {
        "{\"Flags\":\(ipv6 ? 1 : 0),\"Ipv6\":\(ipv6),\"MediaOnly\":false,\"TCPObfuscatedOnly\":false,\"CDN\":false,"
            + "\"Static\":false,\"ThisPortOnly\":false,\"ID\":\(id),\"IPAddress\":\(quoted(endpoint.host)),\"Port\":\(endpoint.port),\"Secret\":null}"
    }

    /// Encodes the session's main data center as the JSON gotd's `FileStorage` writes, in guarded
    /// memory. `Config` lists the main DC's IPv4 and IPv6 addresses (gotd connects by them); `Addr`
    /// is the bare IP, as gotd's `TDesktopSession` writes it; `Salt` is 0.
    static func encode(_ session: Session) throws(VaultError) -> (text: SecretBytes, notes: [String]) {
        let plan = ExportPlan(session: session, formatName: "gotd session")
        let (dc, key) = try plan.requireKeyedDataCenter(formatName: "gotd session")
        guard let endpoint = plan.endpoint else { throw VaultError(.invalidArgument, "DC \(dc.id) has no address for a gotd session") }
        var notes = plan.notes
        if session.user != nil || session.updateState != nil {
            notes.append("a gotd session holds no user, update state or peers; they were not exported")
        }
        var endpoints: [(Endpoint, Bool)] = []
        if let ipv4 = dc.ipv4 { endpoints.append((ipv4, false)) }
        if let ipv6 = dc.ipv6 { endpoints.append((ipv6, true)) }
        if endpoints.isEmpty { endpoints.append((endpoint, IPAddressText.isIPv6(endpoint.host))) }
        for (candidate, _) in endpoints where !candidate.host.utf8.allSatisfy({ (33...126).contains($0) && $0 != 34 && $0 != 92 && $0 != 60 && $0 != 62 && $0 != 38 }) {
            throw VaultError(.invalidArgument, "DC \(dc.id)'s address has characters gotd's JSON would escape; not exported")
        }
        let options = endpoints.map { option(id: dc.id, endpoint: $0.0, ipv6: $0.1) }.joined(separator: ",")
        let head = "{\"Version\":1,\"Data\":{\"Config\":{\"BlockedMode\":false,\"ForceTryIpv6\":false,\"Date\":0,\"Expires\":0,"
            + "\"TestMode\":\(session.isTestMode),\"ThisDC\":\(dc.id),\"DCOptions\":[\(options)],\"DCTxtDomainName\":\"\","
            + "\"TmpSessions\":0,\"WebfileDCID\":0},\"DC\":\(dc.id),\"Addr\":\(quoted(endpoints[0].0.host)),\"AuthKey\":\""
        let keyID = try GuardedBase64.encodeText(keyIDBytes(key), padding: .standard)
        let tail = "\",\"AuthKeyID\":\"\(keyID)\",\"Salt\":0}}"
        let body = try key.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.encode(raw, padding: .standard) }
        let headBytes = Array(head.utf8)
        let tailBytes = Array(tail.utf8)
        let text = try SecretBytes(count: headBytes.count + body.count + tailBytes.count)
        text.withUnsafeMutableBytes { out in
            UnsafeMutableRawBufferPointer(rebasing: out[0..<headBytes.count]).copyBytes(from: headBytes)
            body.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: out[headBytes.count..<(headBytes.count + body.count)]).copyMemory(from: $0)
            }
            UnsafeMutableRawBufferPointer(rebasing: out[(headBytes.count + body.count)...]).copyBytes(from: tailBytes)
        }
        body.wipe()
        return (text, notes)
    }
}
