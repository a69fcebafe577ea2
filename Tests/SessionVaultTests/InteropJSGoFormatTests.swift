import Foundation
import Testing
@_spi(Testing) @testable import SessionVaultKit
import SessionVaultTestSupport

/// GramJS strings (made by tgconvertor 0.3.0 from the real Telethon/Pyrogram fixtures), mtcute
/// strings and gotd session JSON (hand-made from upstream source): every manifest fact on import,
/// byte-identical export, detection by content, and clear errors for bad input.
@Suite struct InteropJSGoFormatTests {
    nonisolated(unsafe) static let converted = manifest("converted-manifest.json")
    nonisolated(unsafe) static let handmade = manifest("handmade-js-go-manifest.json")

    static func manifest(_ name: String) -> [String: [String: Any]] {
        let data = FileManager.default.contents(atPath: InteropFixtures.path(name))!
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return object["fixtures"] as! [String: [String: Any]]
    }

    static let gramjsFiles = converted.filter { $0.value["format"] as? String == "gramjs-string" }.keys.sorted()
    static let handmadeFiles = handmade.keys.sorted()

    static func read(_ file: String, format: SessionFormat? = nil) throws -> ImportedSession {
        try SessionImporter.read(from: .file(path: InteropFixtures.path(file)), format: format)
    }

    static func text(_ bytes: [UInt8]) throws -> SecretBytes {
        try bytes.withUnsafeBytes { try SecretBytes(copying: $0) }
    }

    static func readText(_ bytes: [UInt8], format: SessionFormat? = nil) throws -> ImportedSession {
        try SessionImporter.read(from: .text(try text(bytes)), format: format)
    }

    static func exported(_ session: Session, _ format: SessionFormat) throws -> [UInt8] {
        let (text, _) = try SessionExporter.string(session, format: format)
        return text.withUnsafeBytes { Array($0) }
    }

    static func mainDC(_ session: Session) throws -> DataCenter {
        try #require(session.dataCenters.first { $0.authKey != nil })
    }

    @Test func fixturesArePresent() {
        #expect(Self.gramjsFiles == ["gramjs-from-pyrogram-2.0.106.txt", "gramjs-from-telethon-ipv6.txt", "gramjs-from-telethon-v8.txt"])
        #expect(Self.handmadeFiles.count == 4)
    }

    @Test(arguments: gramjsFiles)
    func gramjsImportsEveryFactAndExportsByteIdentically(file: String) throws {
        let imported = try Self.read(file)
        #expect(imported.format == .gramjsString)
        let facts = Self.converted[file]!["facts"] as! [String: Any]
        let dc = try Self.mainDC(imported.session)
        #expect(Int64(dc.id) == int64(facts["dc_id"]))
        let endpoint = try #require(dc.ipv4 ?? dc.ipv6)
        #expect(endpoint.host == facts["server_address"] as? String)
        #expect(Int64(endpoint.port) == int64(facts["port"]))
        #expect(dc.authKey?.id == int64(facts["auth_key_id"]))
        #expect(dc.authKey.map(sha256Hex) == facts["auth_key_sha256"] as? String)
        #expect(imported.session.isTestMode == (facts["test_mode"] as? Bool))
        #expect(try Self.exported(imported.session, .gramjsString) == fileBytes(InteropFixtures.path(file)))
    }

    @Test func gramjsKeysAreTheSourceFixturesKeys() throws {
        let telethon = try InteropFixtures.read("telethon-v8.session")
        let gramjs = try Self.read("gramjs-from-telethon-v8.txt")
        #expect(try Self.mainDC(gramjs.session).authKey == Self.mainDC(telethon.session).authKey)
        let pyrogram = try InteropFixtures.read("pyrogram-2.0.106.session")
        #expect(try Self.mainDC(Self.read("gramjs-from-pyrogram-2.0.106.txt").session).authKey == Self.mainDC(pyrogram.session).authKey)
        // The Telethon file exported to GramJS is exactly what tgconvertor made from it.
        #expect(try Self.exported(telethon.session, .gramjsString) == fileBytes(InteropFixtures.path("gramjs-from-telethon-v8.txt")))
    }

    @Test func the369CharacterLengthIsToldApartByContent() throws {
        // A GramJS string with "149.154.167.51" has a 368-character body, like a Telethon IPv6 string.
        #expect(fileBytes(InteropFixtures.path("gramjs-from-telethon-v8.txt")).count == 369)
        #expect(try Self.read("gramjs-from-telethon-v8.txt").format == .gramjsString)
        #expect(try InteropFixtures.read("telethon-ipv6.txt").format == .telethonString)
    }

    @Test func ambiguous353CharacterStandardBase64NeedsFormat() throws {
        // tgconvertor documents it: GramJS's reader takes any 352-character body for a Telethon IPv4 string.
        var bytes = fileBytes(InteropFixtures.path("telethon-ipv4.txt"))
        let telethon = try Self.readText(bytes)
        guard let index = bytes.firstIndex(where: { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            // No URL-safe-only character in this key: build the standard-alphabet form some other way.
            Issue.record("telethon-ipv4.txt has no '-' or '_' to turn into standard base64")
            return
        }
        for position in index..<bytes.count where bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "_") {
            bytes[position] = bytes[position] == UInt8(ascii: "-") ? UInt8(ascii: "+") : UInt8(ascii: "/")
        }
        let error = #expect(throws: VaultError.self) { try Self.readText(bytes) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("ambiguous 353-character") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("--format gramjs-string") == true)
        let forced = try Self.readText(bytes, format: .gramjsString)
        #expect(forced.format == .gramjsString)
        #expect(try Self.mainDC(forced.session).authKey == Self.mainDC(telethon.session).authKey)
        #expect(try Self.mainDC(forced.session).ipv4 == Self.mainDC(telethon.session).ipv4)
    }

    @Test(arguments: handmadeFiles)
    func handmadeImportsEveryFact(file: String) throws {
        let entry = Self.handmade[file]!
        let imported = try Self.read(file)
        #expect(imported.format.name == entry["format"] as? String)
        let facts = entry["facts"] as! [String: Any]
        let session = imported.session
        let dc = try Self.mainDC(session)
        #expect(Int64(dc.id) == int64(facts["dc_id"]))
        #expect(dc.authKey?.id == int64(facts["auth_key_id"]))
        #expect(dc.authKey.map(sha256Hex) == facts["auth_key_sha256"] as? String)
        #expect(session.isTestMode == facts["test_mode"] as? Bool)
        let isIPv6 = facts["ipv6"] as? Bool ?? false
        let endpoint = try #require(isIPv6 ? dc.ipv6 : dc.ipv4)
        #expect(endpoint.host == facts["server_address"] as? String)
        #expect(Int64(endpoint.port) == int64(facts["port"]))
        if imported.format == .mtcuteString {
            let user = facts["user"] as! [String: Any]
            #expect(session.user?.id == int64(user["id"]))
            #expect(session.user?.isBot == user["is_bot"] as? Bool)
            let media = session.dataCenters.first(where: \.isMediaOnly)
            if let expected = facts["media_dc"] as? [String: Any] {
                #expect(media?.id == Int32(int64(expected["id"])!))
                #expect(media?.ipv4?.host == expected["server_address"] as? String)
                #expect(media?.authKey == nil)
            } else {
                #expect(media == nil)
            }
        } else {
            #expect(dc.ipv6?.host == facts["ipv6_address"] as? String)
            #expect(session.user == nil)
            let others = int64(facts["other_options"]) ?? 0
            #expect(imported.notes.contains { $0.contains("\(others) other DC option") } == (others > 0))
        }
    }

    @Test(arguments: ["mtcute-v3.txt", "mtcute-v3-test-ipv6-bot.txt", "gotd-tdesktop.json"])
    func canonicalFixturesExportByteIdentically(file: String) throws {
        let imported = try Self.read(file)
        #expect(try Self.exported(imported.session, imported.format) == fileBytes(InteropFixtures.path(file)))
    }

    @Test func gotdClientSessionRoundTripsAfterTheFirstExport() throws {
        let imported = try Self.read("gotd-client.json")
        let first = try Self.exported(imported.session, .gotdJSON)
        let again = try Self.readText(first)
        #expect(again.session == imported.session)
        #expect(try Self.exported(again.session, .gotdJSON) == first)
        #expect(imported.notes.contains { $0.contains("server salt") })
    }

    @Test func everyFormatRoundTripsEveryOtherFixturesSession() throws {
        // A Pyrogram session (user, DC 2, no address) through each new format and back.
        let source = try InteropFixtures.read("pyrogram-2.0.106.session").session
        for format in [SessionFormat.gramjsString, .mtcuteString, .gotdJSON] {
            let once = try Self.exported(source, format)
            let back = try Self.readText(once)
            #expect(back.format == format)
            #expect(try Self.mainDC(back.session).authKey == Self.mainDC(source).authKey)
            #expect(try Self.exported(back.session, format) == once, "\(format)")
        }
    }

    @Test func mtcuteEncoderMatchesUpstreamSnapshotLayout() throws {
        // packages/core/src/highlevel/utils/string-session.test.ts @ 42538c2: everything before the
        // (32-byte stub) key; this build refuses the stub key itself.
        let upstream = "AwUAAAAXAgIADjE0OS4xNTQuMTY3LjUwALsBAAAXAgICDzE0OS4xNTQuMTY3LjIyMrsBAAA5MAAAAAAAADeXebwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        let key = try AuthKey(copying: [UInt8](repeating: 7, count: 256).withUnsafeBytes { $0 })
        let session = Session(
            dataCenters: [
                DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.50", port: 443), authKey: key),
                DataCenter(id: 2, ipv4: Endpoint(host: "149.154.167.222", port: 443), isMediaOnly: true),
            ],
            user: LoggedInUser(id: 12345, dataCenterID: 2, isBot: false)
        )
        let mine = try Self.exported(session, .mtcuteString)
        func decoded(_ text: String) -> Data? {
            let standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            return Data(base64Encoded: standard + String(repeating: "=", count: (4 - standard.count % 4) % 4))
        }
        let decodedMine = try #require(decoded(String(decoding: mine, as: UTF8.self)))
        let decodedUpstream = try #require(decoded(upstream))
        let prefix = decodedUpstream.count - 36  // TL bytes of the 32-byte key: 1 + 32 + 3 padding
        #expect(Array(decodedMine.prefix(prefix)) == Array(decodedUpstream.prefix(prefix)))
        let error = #expect(throws: VaultError.self) { try Self.readText(Array(upstream.utf8)) }
        #expect(error?.message.contains("32 bytes, not 256") == true, "\(error?.message ?? "")")
    }

    /// `gotd` with the AuthKeyID replaced by 8 zero bytes.
    static func replacingKeyID(_ gotd: String) -> String {
        let marker = "\"AuthKeyID\":\""
        let start = gotd.range(of: marker)!.upperBound
        let end = gotd[start...].firstIndex(of: "\"")!
        return gotd.replacingCharacters(in: start..<end, with: "AAAAAAAAAAA=")
    }

    @Test func badInputGetsClearErrorsWithoutSecrets() throws {
        let gramjs = fileBytes(InteropFixtures.path("gramjs-from-telethon-v8.txt"))
        let mtcute = fileBytes(InteropFixtures.path("mtcute-v3.txt"))
        let gotd = String(decoding: fileBytes(InteropFixtures.path("gotd-tdesktop.json")), as: UTF8.self)
        var cases: [(String, [UInt8], SessionFormat?, VaultError.Code, String)] = [
            ("gramjs truncated", Array(gramjs.prefix(200)), nil, .invalidArgument, "GramJS"),
            ("mtcute truncated", Array(mtcute.prefix(300)), nil, .invalidArgument, "mtcute"),
            ("mtcute version 2", Array("Ag".utf8) + Array(mtcute.dropFirst(2)), nil, .invalidArgument, "version 2"),
            ("gotd version 2", Array(gotd.replacingOccurrences(of: "\"Version\":1", with: "\"Version\":2").utf8), nil, .invalidArgument, "Version 2"),
            ("gotd not json", Array(gotd.prefix(100).utf8), nil, .invalidArgument, "not valid JSON"),
            ("gotd key id", Array(Self.replacingKeyID(gotd).utf8), nil, .corrupt, "AuthKeyID"),
            ("mtcute as gramjs", mtcute, .gramjsString, .invalidArgument, "mtcute string session"),
        ]
        // A key byte changed: AuthKeyID no longer matches.
        var tampered = Array(gotd.utf8)
        let keyStart = tampered.indices.first { tampered[$0...].starts(with: Array("\"AuthKey\":\"".utf8)) }! + 11
        tampered[keyStart] = tampered[keyStart] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        cases.append(("gotd tampered key", tampered, nil, .corrupt, "does not match"))
        let secrets = [String(decoding: gramjs, as: UTF8.self), String(decoding: mtcute, as: UTF8.self)]
        for (label, bytes, format, code, fragment) in cases {
            let error = #expect(throws: VaultError.self, "\(label)") { try Self.readText(bytes, format: format) }
            #expect(error?.code == code, "\(label): \(error?.message ?? "")")
            #expect(error?.message.contains(fragment) == true, "\(label): \(error?.message ?? "")")
            for secret in secrets {
                #expect(error.map { !$0.message.contains(secret.prefix(40).dropFirst(20)) } ?? true, "\(label) echoes input")
            }
        }
    }

    /// The tgconvertor venv of `make_converted.py` (`Fixtures/.venv/tgconvertor-0.3.0`), if made.
    static let tgconvertorVenv = RealLibraries.venvDirectory + "/tgconvertor-0.3.0/sessionvault-pins.json"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: tgconvertorVenv), "needs the tgconvertor venv: python3 Fixtures/interop/make_converted.py"))
    func tgconvertorLoadsEveryGramJSExport() async throws {
        for fixture in ["pyrogram-2.0.106.session", "kurigram-2.2.26.session", "telethon-v8.session", "telethon-ipv6.txt"] {
            let session = try InteropFixtures.read(fixture).session
            let path = NSTemporaryDirectory() + "/sv-gramjs-\(getpid())-\(fixture).txt"
            try SessionExporter.write(session, format: .gramjsString, to: path)
            defer { unlink(path) }
            let result = try await RealLibraries.run(["python3", InteropFixtures.path("make_converted.py"), "--check-gramjs", path])
            #expect(result.status == 0, "\(result.output)")
            let facts = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as! [String: Any]
            let dc = try Self.mainDC(session)
            let endpoint = try #require(dc.ipv4 ?? dc.ipv6)
            #expect(int64(facts["dc_id"]) == Int64(dc.id), "\(fixture)")
            #expect(facts["server_address"] as? String == endpoint.host, "\(fixture)")
            #expect(int64(facts["port"]) == Int64(endpoint.port), "\(fixture)")
            #expect(int64(facts["auth_key_id"]) == dc.authKey?.id, "\(fixture)")
        }
    }
}
