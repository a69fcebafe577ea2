/// Telethon's `StringSession`: `"1"` + URL-safe base64 **with** `=` padding of
/// `>B{4|16}sH256s` = DC id (u8), packed IPv4 or IPv6, port (big-endian u16), 256-byte auth key.
///
/// 263 bytes → 352 base64 characters (IPv4, 353 with the version), 275 → 368 (IPv6, 369). Telethon
/// picks IPv4 or IPv6 only by that length, and refuses a string whose padding was stripped.
enum TelethonStringFormat {
    /// The version character every Telethon string starts with.
    static let version: UInt8 = 0x31  // "1"
    /// The total lengths (with the version character) of the IPv4 and IPv6 forms.
    static let lengths = [353, 369]

    /// Decodes a trimmed string (already known to be 353 or 369 characters starting with `1`).
    static func decode(_ text: UnsafeRawBufferPointer) throws(VaultError) -> ImportedSession {
        let body = UnsafeRawBufferPointer(rebasing: text[1...])
        guard let payload = try GuardedBase64.decode(body, padding: .padded) else {
            throw VaultError(
                .invalidArgument,
                "a string of \(text.count) characters that starts like a Telethon string session but is not valid "
                    + "padded URL-safe base64"
            )
        }
        let ipLength = text.count == 353 ? 4 : 16
        guard payload.count == 1 + ipLength + 2 + AuthKey.byteCount else {
            throw VaultError(.invalidArgument, "the Telethon string decodes to \(payload.count) bytes, not \(1 + ipLength + 2 + 256)")
        }
        return try payload.withUnsafeBytes { (raw) throws(VaultError) -> ImportedSession in
            let dcID = Int32(raw[0])
            guard let host = IPAddressText.text(packed: UnsafeRawBufferPointer(rebasing: raw[1..<(1 + ipLength)])) else {
                throw VaultError(.invalidArgument, "the Telethon string holds an unreadable IP address")
            }
            let port = UInt16(raw[1 + ipLength]) << 8 | UInt16(raw[2 + ipLength])
            let keyBytes = UnsafeRawBufferPointer(rebasing: raw[(3 + ipLength)...])
            var notes = ["a Telethon string holds only the DC, address, port and auth key: no user, update state or peers"]
            var key: AuthKey?
            if keyBytes.contains(where: { $0 != 0 }) {
                key = try AuthKey(copying: keyBytes)
            } else {
                notes.append("the auth key is all zeros, which Telethon reads as no key")
            }
            let endpoint = Endpoint(host: host, port: port)
            let ipv6 = ipLength == 16
            let dc = DataCenter(id: dcID, ipv4: ipv6 ? nil : endpoint, ipv6: ipv6 ? endpoint : nil, authKey: key)
            return ImportedSession(
                session: Session(dataCenters: [dc]),
                format: .telethonString,
                schemaVersion: text.count,
                notes: notes
            )
        }
    }

    /// Encodes the session's main data center as a Telethon string, in guarded memory.
    static func encode(_ session: Session) throws(VaultError) -> (text: SecretBytes, notes: [String]) {
        let plan = ExportPlan(session: session, formatName: "Telethon string")
        let (dc, key) = try plan.requireKeyedDataCenter(formatName: "Telethon string")
        guard let endpoint = plan.endpoint, let packed = IPAddressText.packed(endpoint.host) else {
            throw VaultError(.invalidArgument, "DC \(dc.id) has no usable IP address for a Telethon string")
        }
        guard (0...255).contains(dc.id) else {
            throw VaultError(.invalidArgument, "DC id \(dc.id) does not fit the one byte a Telethon string has for it")
        }
        var notes = plan.notes
        if session.user != nil || session.updateState != nil {
            notes.append("a Telethon string holds no user, update state or peers; they were not exported")
        }
        let payload = try SecretBytes(count: 1 + packed.count + 2 + AuthKey.byteCount)
        payload.withUnsafeMutableBytes { out in
            out[0] = UInt8(dc.id)
            for (index, byte) in packed.enumerated() { out[1 + index] = byte }
            out[1 + packed.count] = UInt8(endpoint.port >> 8)
            out[2 + packed.count] = UInt8(endpoint.port & 0xFF)
            key.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: out[(3 + packed.count)...]).copyMemory(from: source)
            }
        }
        let body = try payload.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.encode(raw, padding: .padded) }
        payload.wipe()
        let text = try SecretBytes(count: 1 + body.count)
        text.withUnsafeMutableBytes { out in
            out[0] = version
            body.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[1...]).copyMemory(from: $0) }
        }
        return (text, notes)
    }
}
