/// Pyrogram's (and Kurigram's) session string: URL-safe base64 **without** padding of a
/// big-endian struct, whose layout is chosen purely by the string's length.
///
/// | length | struct | fields |
/// |---|---|---|
/// | 362 (current) | `>BI?256sQ?` | DC id, api id (u32), test mode, auth key, user id (u64), is bot |
/// | 351 (old) | `>B?256sI?` | DC id, test mode, auth key, user id (u32), is bot |
/// | 356 (old, 64-bit) | `>B?256sQ?` | DC id, test mode, auth key, user id (u64), is bot |
///
/// No address is stored: the library picks one by DC id and test mode (``WellKnownDataCenters``).
enum PyrogramStringFormat {
    /// The accepted lengths.
    static let lengths = [351, 356, 362]

    /// Decodes a trimmed string of one of ``lengths``.
    static func decode(_ text: UnsafeRawBufferPointer) throws(VaultError) -> ImportedSession {
        guard let payload = try GuardedBase64.decode(text, padding: .unpadded) else {
            throw VaultError(
                .invalidArgument,
                "a string of \(text.count) characters (a Pyrogram session string length) that is not valid "
                    + "unpadded URL-safe base64"
            )
        }
        let expected = [351: 263, 356: 267, 362: 271][text.count] ?? 0
        guard payload.count == expected else {
            throw VaultError(.invalidArgument, "the Pyrogram string decodes to \(payload.count) bytes, not \(expected)")
        }
        return try payload.withUnsafeBytes { (raw) throws(VaultError) -> ImportedSession in
            func bigEndian(_ range: Range<Int>) -> UInt64 { raw[range].reduce(0) { $0 << 8 | UInt64($1) } }
            let dcID = Int32(raw[0])
            var apiID: Int32?
            let testMode: Bool
            let keyStart: Int
            let userID: UInt64
            var notes: [String] = []
            switch text.count {
            case 362:
                let api = bigEndian(1..<5)
                guard api <= UInt64(Int32.max) else {
                    throw VaultError(.invalidArgument, "the Pyrogram string's api_id \(api) is out of range")
                }
                apiID = api == 0 ? nil : Int32(api)
                testMode = raw[5] != 0
                keyStart = 6
                userID = bigEndian(262..<270)
            case 351:
                testMode = raw[1] != 0
                keyStart = 2
                userID = bigEndian(258..<262)
                notes.append("old 351-character Pyrogram string: it carries no api_id")
            default:
                testMode = raw[1] != 0
                keyStart = 2
                userID = bigEndian(258..<266)
                notes.append("old 356-character Pyrogram string: it carries no api_id")
            }
            let isBot = raw[raw.count - 1] != 0
            guard userID <= UInt64(Int64.max) else {
                throw VaultError(.invalidArgument, "the Pyrogram string's user id is out of range")
            }
            let key = try AuthKey(copying: UnsafeRawBufferPointer(rebasing: raw[keyStart..<(keyStart + AuthKey.byteCount)]))
            guard let endpoint = WellKnownDataCenters.endpoint(dataCenter: dcID, testMode: testMode) else {
                throw VaultError(
                    .invalidArgument,
                    "the Pyrogram string names DC \(dcID)\(testMode ? " on the test servers" : ""), which has no known address"
                )
            }
            notes.append(
                "the address of DC \(dcID) was inferred from the DC id and test mode (\(endpoint)): "
                    + "Pyrogram strings carry no address"
            )
            notes.append("a Pyrogram string holds no update state, peers or username")
            let session = Session(
                dataCenters: [DataCenter(id: dcID, ipv4: endpoint, authKey: key)],
                user: LoggedInUser(id: Int64(userID), dataCenterID: dcID, isBot: isBot),
                apiID: apiID,
                isTestMode: testMode
            )
            return ImportedSession(session: session, format: .pyrogramString, schemaVersion: text.count, notes: notes)
        }
    }

    /// Encodes the session in the current 362-character form, in guarded memory.
    /// - Parameter apiID: Overrides the session's api id (the string must carry one; 0 means "unknown").
    static func encode(_ session: Session, apiID override: Int32? = nil) throws(VaultError) -> (text: SecretBytes, notes: [String]) {
        let plan = ExportPlan(session: session, formatName: "Pyrogram string")
        let (dc, key) = try plan.requireKeyedDataCenter(formatName: "Pyrogram string")
        guard let user = session.user else {
            throw VaultError(
                .invalidArgument,
                "a Pyrogram string needs the logged-in user's id and the session has none (a Telethon string does not carry it)"
            )
        }
        guard (0...255).contains(dc.id) else {
            throw VaultError(.invalidArgument, "DC id \(dc.id) does not fit the one byte a Pyrogram string has for it")
        }
        var notes = plan.notes
        let apiID = override ?? session.apiID
        if apiID == nil {
            notes.append("the api_id is unknown and was written as 0: pass api_id to pyrogram.Client")
        }
        if let endpoint = plan.endpoint,
            endpoint != WellKnownDataCenters.endpoint(dataCenter: dc.id, testMode: session.isTestMode)
        {
            let known = WellKnownDataCenters.endpoint(dataCenter: dc.id, testMode: session.isTestMode).map { "\($0)" } ?? "none"
            notes.append("Pyrogram strings carry no address: the library will connect to \(known), not \(endpoint)")
        }
        if session.updateState != nil {
            notes.append("a Pyrogram string holds no update state or peers; they were not exported")
        }
        let payload = try SecretBytes(count: 271)
        payload.withUnsafeMutableBytes { out in
            out[0] = UInt8(dc.id)
            let api = UInt32(max(0, apiID ?? 0))
            for index in 0..<4 { out[1 + index] = UInt8(truncatingIfNeeded: api >> (24 - 8 * UInt32(index))) }
            out[5] = session.isTestMode ? 1 : 0
            key.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[6..<262]).copyMemory(from: $0) }
            let id = UInt64(bitPattern: user.id)
            for index in 0..<8 { out[262 + index] = UInt8(truncatingIfNeeded: id >> (56 - 8 * UInt64(index))) }
            out[270] = user.isBot ? 1 : 0
        }
        let text = try payload.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.encode(raw, padding: .unpadded) }
        payload.wipe()
        return (text, notes)
    }
}
