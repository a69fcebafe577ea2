/// mtcute's string session, version 3 (`packages/core/src/highlevel/utils/string-session.ts` and
/// `packages/core/src/utils/dcs.ts`): URL-safe base64 without padding of
///
/// | bytes | what |
/// |---|---|
/// | 1 | version, `3` |
/// | 4 | flags (i32 LE): 1 = self user present, 2 = test mode (old), 4 = separate media DC |
/// | TL bytes | main DC option |
/// | TL bytes | media DC option (flag 4 only; else the media DC is the main one) |
/// | 8 + 4 | self user: id (int53 as i64 LE), is bot (TL `boolTrue`/`boolFalse`) (flag 1 only) |
/// | TL bytes | auth key |
///
/// A DC option is `[version 1|2, dc id, flags (1 = IPv6, 2 = media only, 4 = test mode, v2)]` +
/// TL string address + port (i32 LE). TL bytes: a length byte (or 254 and 3 length bytes LE), the
/// data, zero padding to a multiple of 4.
enum MtcuteStringFormat {
    /// The only version mtcute reads and writes.
    static let version: UInt8 = 3
    /// TL `boolTrue` / `boolFalse` constructors.
    static let boolTrue: UInt32 = 0x9972_75B5
    static let boolFalse: UInt32 = 0xBC79_9737

    /// One DC option as mtcute stores it.
    struct DcOption: Equatable {
        var id: Int32
        var host: String
        var port: Int32
        var ipv6: Bool
        var mediaOnly: Bool
        var testMode: Bool
    }

    /// Reads TL values from a buffer, with errors instead of traps.
    struct Reader {
        let raw: UnsafeRawBufferPointer
        var offset: Int

        mutating func take(_ count: Int) throws(VaultError) -> Range<Int> {
            guard count >= 0, offset + count <= raw.count else {
                throw VaultError(.invalidArgument, "the mtcute string is truncated: \(raw.count) bytes")
            }
            defer { offset += count }
            return offset..<(offset + count)
        }

        mutating func int32() throws(VaultError) -> UInt32 {
            let range = try take(4)
            return raw[range].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func bytes() throws(VaultError) -> Range<Int> {
            let first = raw[try take(1).lowerBound]
            var length = Int(first)
            var header = 1
            if first == 254 {
                let range = try take(3)
                length = Int(raw[range.lowerBound]) | Int(raw[range.lowerBound + 1]) << 8 | Int(raw[range.lowerBound + 2]) << 16
                header = 4
            } else if first == 255 {
                throw VaultError(.invalidArgument, "the mtcute string holds an invalid TL length byte")
            }
            let data = try take(length)
            _ = try take((4 - (header + length) % 4) % 4)
            return data
        }
    }

    /// Writes TL values into a byte array (no secrets: the key is added separately).
    static func tlBytes(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8]
        if data.count <= 253 {
            out = [UInt8(data.count)]
        } else {
            out = [254, UInt8(data.count & 0xFF), UInt8(data.count >> 8 & 0xFF), UInt8(data.count >> 16 & 0xFF)]
        }
        out += data
        out += [UInt8](repeating: 0, count: (4 - out.count % 4) % 4)
        return out
    }

    static func int32LE(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) } }

    static func parseOption(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, what: String) throws(VaultError) -> DcOption {
        var reader = Reader(raw: UnsafeRawBufferPointer(rebasing: raw[range]), offset: 0)
        let head = try reader.take(3)
        let optionVersion = reader.raw[head.lowerBound]
        guard optionVersion == 1 || optionVersion == 2 else {
            throw VaultError(.invalidArgument, "the mtcute string's \(what) DC option has version \(optionVersion); mtcute reads 1 and 2")
        }
        let flags = reader.raw[head.lowerBound + 2]
        let hostRange = try reader.bytes()
        let host = String(decoding: UnsafeRawBufferPointer(rebasing: reader.raw[hostRange]), as: UTF8.self)
        let port = Int32(bitPattern: try reader.int32())
        guard (1...65535).contains(port) else {
            throw VaultError(.invalidArgument, "the mtcute string's \(what) DC option has the port \(port)")
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ (33...126).contains($0) }) else {
            throw VaultError(.invalidArgument, "the mtcute string's \(what) DC option has no readable address")
        }
        return DcOption(
            id: Int32(reader.raw[head.lowerBound + 1]),
            host: host,
            port: port,
            ipv6: flags & 1 != 0,
            mediaOnly: flags & 2 != 0,
            testMode: optionVersion == 2 && flags & 4 != 0
        )
    }

    static func serialize(_ option: DcOption) -> [UInt8] {
        let flags: UInt8 = (option.ipv6 ? 1 : 0) | (option.mediaOnly ? 2 : 0) | (option.testMode ? 4 : 0)
        return [2, UInt8(truncatingIfNeeded: option.id), flags] + tlBytes(Array(option.host.utf8)) + int32LE(UInt32(bitPattern: option.port))
    }

    /// Decodes a trimmed string already recognised as mtcute (URL-safe base64, first byte 3).
    static func decode(_ text: UnsafeRawBufferPointer) throws(VaultError) -> ImportedSession {
        let padding: GuardedBase64.Padding = text.last == UInt8(ascii: "=") ? .padded : .unpadded
        guard let payload = try GuardedBase64.decode(text, padding: padding) else {
            throw VaultError(.invalidArgument, "a string of \(text.count) characters that is not valid URL-safe base64 (an mtcute string?)")
        }
        return try payload.withUnsafeBytes { (raw) throws(VaultError) -> ImportedSession in
            guard raw.count > 5 else { throw VaultError(.invalidArgument, "the mtcute string is truncated: \(raw.count) bytes") }
            guard raw[0] == version else {
                throw VaultError(.invalidArgument, "the mtcute string has version \(raw[0]); this build reads version 3, as mtcute does")
            }
            var reader = Reader(raw: raw, offset: 1)
            let flags = try reader.int32()
            guard flags & ~UInt32(7) == 0 else {
                throw VaultError(.invalidArgument, "the mtcute string has unknown flags 0x\(String(flags, radix: 16))")
            }
            var main = try parseOption(raw, try reader.bytes(), what: "main")
            var media = flags & 4 != 0 ? try parseOption(raw, try reader.bytes(), what: "media") : nil
            if flags & 2 != 0 {
                main.testMode = true
                media?.testMode = true
            } else if let media, media.testMode != main.testMode {
                throw VaultError(.invalidArgument, "the mtcute string's main and media DC options disagree about test mode")
            }
            var user: LoggedInUser?
            if flags & 1 != 0 {
                let low = UInt64(try reader.int32())
                let high = UInt64(try reader.int32())
                let id = Int64(bitPattern: high << 32 | low)
                let bot = try reader.int32()
                guard bot == boolTrue || bot == boolFalse else {
                    throw VaultError(.invalidArgument, "the mtcute string's is-bot field is no TL boolean")
                }
                guard id > 0 else { throw VaultError(.invalidArgument, "the mtcute string's user id \(id) is not positive") }
                user = LoggedInUser(id: id, dataCenterID: main.id, isBot: bot == boolTrue)
            }
            let keyRange = try reader.bytes()
            guard keyRange.count == AuthKey.byteCount else {
                throw VaultError(.invalidArgument, "the mtcute string's auth key is \(keyRange.count) bytes, not 256")
            }
            guard reader.offset == raw.count else {
                throw VaultError(.invalidArgument, "the mtcute string has \(raw.count - reader.offset) bytes after the auth key")
            }
            let keyBytes = UnsafeRawBufferPointer(rebasing: raw[keyRange])
            guard keyBytes.contains(where: { $0 != 0 }) else {
                throw VaultError(.invalidArgument, "the mtcute string's auth key is all zeros")
            }
            var notes = ["an mtcute string holds the main and media DC, the auth key and the user id: no update state or peers"]
            if main.mediaOnly {
                throw VaultError(.invalidArgument, "the mtcute string's main DC option is marked media-only")
            }
            var dataCenters = [dataCenter(main, key: try AuthKey(copying: keyBytes))]
            if let media {
                if !media.mediaOnly {
                    notes.append("the separate media DC option was not marked media-only; it is kept as DC \(media.id)'s media entry")
                }
                dataCenters.append(dataCenter(media, key: nil))
            }
            return ImportedSession(
                session: Session(dataCenters: dataCenters, user: user, isTestMode: main.testMode),
                format: .mtcuteString,
                schemaVersion: text.count,
                notes: notes
            )
        }
    }

    private static func dataCenter(_ option: DcOption, key: AuthKey?) -> DataCenter {
        let endpoint = Endpoint(host: option.host, port: UInt16(option.port))
        return DataCenter(
            id: option.id,
            ipv4: option.ipv6 ? nil : endpoint,
            ipv6: option.ipv6 ? endpoint : nil,
            authKey: key,
            isMediaOnly: key == nil
        )
    }

    /// Encodes the session as mtcute's writer does (version 3), in guarded memory.
    static func encode(_ session: Session) throws(VaultError) -> (text: SecretBytes, notes: [String]) {
        let plan = ExportPlan(session: session, formatName: "mtcute string")
        let (dc, key) = try plan.requireKeyedDataCenter(formatName: "mtcute string")
        guard let endpoint = plan.endpoint else { throw VaultError(.invalidArgument, "DC \(dc.id) has no address for an mtcute string") }
        guard (0...255).contains(dc.id) else {
            throw VaultError(.invalidArgument, "DC id \(dc.id) does not fit the one byte an mtcute string has for it")
        }
        var notes = plan.notes.filter { !$0.contains("were not exported") }
        let main = DcOption(
            id: dc.id, host: endpoint.host, port: Int32(endpoint.port), ipv6: dc.ipv4 == nil && dc.ipv6 != nil,
            mediaOnly: false, testMode: session.isTestMode)
        var media: DcOption?
        if let mediaDC = session.dataCenters.first(where: { $0.isMediaOnly && $0.id == dc.id })
            ?? session.dataCenters.filter(\.isMediaOnly).min(by: { $0.id < $1.id }),
            let mediaEndpoint = mediaDC.ipv4 ?? mediaDC.ipv6
        {
            media = DcOption(
                id: mediaDC.id, host: mediaEndpoint.host, port: Int32(mediaEndpoint.port), ipv6: mediaDC.ipv4 == nil,
                mediaOnly: true, testMode: session.isTestMode)
        }
        let others = session.dataCenters.filter { $0.identity != dc.identity && ($0.authKey != nil) }
        if !others.isEmpty {
            notes.append("an mtcute string holds one auth key: the keys of DC \(others.map { "\($0.id)" }.joined(separator: ", ")) were not exported")
        }
        if session.updateState != nil {
            notes.append("an mtcute string holds no update state or peers; they were not exported")
        }
        var flags: UInt32 = 0
        if session.user != nil { flags |= 1 }
        if media != nil { flags |= 4 }
        var head: [UInt8] = [version] + int32LE(flags) + tlBytes(serialize(main))
        if let media { head += tlBytes(serialize(media)) }
        if let user = session.user {
            let id = UInt64(bitPattern: user.id)
            head += int32LE(UInt32(truncatingIfNeeded: id)) + int32LE(UInt32(truncatingIfNeeded: id >> 32))
            head += int32LE(user.isBot ? boolTrue : boolFalse)
        }
        let keyHeader: [UInt8] = [254, 0, 1, 0]
        let payload = try SecretBytes(count: head.count + keyHeader.count + AuthKey.byteCount)
        payload.withUnsafeMutableBytes { out in
            for (index, byte) in (head + keyHeader).enumerated() { out[index] = byte }
            key.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: out[(head.count + keyHeader.count)...]).copyMemory(from: source)
            }
        }
        let text = try payload.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.encode(raw, padding: .unpadded) }
        payload.wipe()
        return (text, notes)
    }
}
