/// GramJS's `StringSession` (gram-js/gramjs `gramjs/sessions/StringSession.ts`): `"1"` + standard
/// base64 **with** `=` padding of: DC id (u8), address length (i16 big-endian), the address as ASCII
/// text, port (i16 big-endian), 256-byte auth key. See docs/SESSION-FORMATS.md.
///
/// GramJS's reader treats a body of exactly 352 characters as a Telethon IPv4 string (packed
/// address), and an address length over 100 as a packed IPv6 address of a Telethon string; both are
/// read here the same way when `--format gramjs-string` is forced. Its writer always writes text.
enum GramJSStringFormat {
    /// The version character.
    static let version: UInt8 = 0x31  // "1"
    /// The longest address GramJS's reader accepts as text (longer lengths mean a packed IPv6 address).
    static let maximumAddressLength = 100

    /// Whether `payload` (the decoded body) has the shape GramJS writes: a text address of 1…100
    /// printable ASCII bytes and exactly 256 key bytes after the port.
    static func hasTextAddress(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard payload.count >= 3 else { return false }
        let length = Int(Int16(bitPattern: UInt16(payload[1]) << 8 | UInt16(payload[2])))
        guard (1...maximumAddressLength).contains(length), payload.count == 5 + length + AuthKey.byteCount else { return false }
        return payload[3..<(3 + length)].allSatisfy { (33...126).contains($0) }
    }

    /// Decodes the body of a trimmed string that starts with `1`, in either base64 alphabet (GramJS
    /// reads both through Node's `Buffer.from(…, "base64")`).
    static func decodeBody(_ text: UnsafeRawBufferPointer) throws(VaultError) -> SecretBytes? {
        let body = UnsafeRawBufferPointer(rebasing: text[1...])
        if let payload = try GuardedBase64.decode(body, padding: .standard) { return payload }
        return try GuardedBase64.decode(body, padding: .padded)
    }

    /// Decodes a trimmed GramJS string.
    static func decode(_ text: UnsafeRawBufferPointer) throws(VaultError) -> ImportedSession {
        guard text.count > 1, text[0] == version else {
            throw VaultError(.invalidArgument, "a GramJS string starts with the version character '1'; this one does not")
        }
        guard let payload = try decodeBody(text) else {
            throw VaultError(
                .invalidArgument,
                "a string of \(text.count) characters that starts like a GramJS string session but is not valid padded base64"
            )
        }
        return try payload.withUnsafeBytes { (raw) throws(VaultError) -> ImportedSession in
            var notes = ["a GramJS string holds only the DC, address, port and auth key: no user, update state or peers"]
            let dcID = Int32(raw[0])
            let host: String
            let keyStart: Int
            if text.count == 353 || (raw.count == 275 && !hasTextAddress(raw)) {
                // What GramJS's reader does with a Telethon string: a packed IPv4 (352-character body)
                // or IPv6 (address length over 100) address.
                let ipLength = text.count == 353 ? 4 : 16
                guard raw.count == 1 + ipLength + 2 + AuthKey.byteCount,
                    let packed = IPAddressText.text(packed: UnsafeRawBufferPointer(rebasing: raw[1..<(1 + ipLength)]))
                else {
                    throw VaultError(.invalidArgument, "the GramJS string decodes to \(raw.count) bytes, which is no layout GramJS reads")
                }
                host = packed
                keyStart = 1 + ipLength
                notes.append("GramJS reads this \(text.count)-character string as a Telethon string (packed IPv\(ipLength == 4 ? 4 : 6) address)")
            } else {
                guard hasTextAddress(raw) else {
                    throw VaultError(
                        .invalidArgument,
                        "the GramJS string decodes to \(raw.count) bytes whose address length and key size do not fit its layout "
                            + "(1 to \(maximumAddressLength) ASCII address bytes, then a port and 256 key bytes)"
                    )
                }
                let length = Int(raw[1]) << 8 | Int(raw[2])
                host = String(decoding: UnsafeRawBufferPointer(rebasing: raw[3..<(3 + length)]), as: UTF8.self)
                keyStart = 3 + length
            }
            let port = Int16(bitPattern: UInt16(raw[keyStart]) << 8 | UInt16(raw[keyStart + 1]))
            guard port > 0 else {
                throw VaultError(.invalidArgument, "the GramJS string's port \(port) is not a TCP port")
            }
            let keyBytes = UnsafeRawBufferPointer(rebasing: raw[(keyStart + 2)...])
            guard keyBytes.contains(where: { $0 != 0 }) else {
                throw VaultError(.invalidArgument, "the GramJS string's auth key is all zeros: it never logged in")
            }
            let endpoint = Endpoint(host: host, port: UInt16(port))
            let ipv6 = IPAddressText.isIPv6(host)
            let dc = DataCenter(
                id: dcID,
                ipv4: ipv6 ? nil : endpoint,
                ipv6: ipv6 ? endpoint : nil,
                authKey: try AuthKey(copying: keyBytes)
            )
            return ImportedSession(
                session: Session(dataCenters: [dc]),
                format: .gramjsString,
                schemaVersion: text.count,
                notes: notes
            )
        }
    }

    /// Encodes the session's main data center as GramJS's writer does, in guarded memory.
    static func encode(_ session: Session) throws(VaultError) -> (text: SecretBytes, notes: [String]) {
        let plan = ExportPlan(session: session, formatName: "GramJS string")
        let (dc, key) = try plan.requireKeyedDataCenter(formatName: "GramJS string")
        guard let endpoint = plan.endpoint else {
            throw VaultError(.invalidArgument, "DC \(dc.id) has no address for a GramJS string")
        }
        let address = Array(endpoint.host.utf8)
        guard (3...maximumAddressLength).contains(address.count), address.allSatisfy({ (33...126).contains($0) }) else {
            throw VaultError(.invalidArgument, "DC \(dc.id)'s address does not fit a GramJS string (3 to 100 ASCII characters)")
        }
        guard (0...255).contains(dc.id) else {
            throw VaultError(.invalidArgument, "DC id \(dc.id) does not fit the one byte a GramJS string has for it")
        }
        guard endpoint.port <= UInt16(Int16.max) else {
            throw VaultError(.invalidArgument, "port \(endpoint.port) does not fit GramJS's signed 16-bit port")
        }
        var notes = plan.notes
        if session.user != nil || session.updateState != nil {
            notes.append("a GramJS string holds no user, update state or peers; they were not exported")
        }
        if session.isTestMode {
            notes.append("a GramJS string does not say test mode: pass testServers to the GramJS client")
        }
        let payload = try SecretBytes(count: 5 + address.count + AuthKey.byteCount)
        payload.withUnsafeMutableBytes { out in
            out[0] = UInt8(dc.id)
            out[1] = UInt8(address.count >> 8)
            out[2] = UInt8(address.count & 0xFF)
            for (index, byte) in address.enumerated() { out[3 + index] = byte }
            out[3 + address.count] = UInt8(endpoint.port >> 8)
            out[4 + address.count] = UInt8(endpoint.port & 0xFF)
            key.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: out[(5 + address.count)...]).copyMemory(from: source)
            }
        }
        let body = try payload.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.encode(raw, padding: .standard) }
        payload.wipe()
        let text = try SecretBytes(count: 1 + body.count)
        text.withUnsafeMutableBytes { out in
            out[0] = version
            body.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[1...]).copyMemory(from: $0) }
        }
        body.wipe()
        return (text, notes)
    }
}
