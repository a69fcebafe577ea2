#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTDataCrypto

/// Reads the accounts of a Telegram Desktop `tdata` folder: the MTP authorization (user id, main
/// DC, one auth key per DC) of each, decrypted in guarded memory only; nothing decrypted is ever
/// written anywhere. docs/SESSION-FORMATS.md describes the layout and where it was read from.
///
/// ```swift
/// let accounts = try await TDataImporter.read(folder: "tdata", passcode: nil)
/// print(accounts.map(\.index))
/// ```
///
/// Read: the legacy key file (three blobs; local key wrapped under the passcode) with or without a
/// local passcode, and the Telegram Desktop 7.3 key file without a passcode (local key wrapped under
/// the empty passcode, an empty passcode-wrap trailer). A 7.3 key file **with** a passcode holds
/// the local key only in Argon2id/scrypt "passcode wraps", which this build does not read: that, a
/// trailer of an unknown version, and an unknown account block are refused with a message saying so.
/// Each account's `configs` file is read for its environment only: a test-server account is refused
/// (addresses are the well-known production ones for the DC id; the DC options are not read).
public enum TDataImporter {
    /// One account of the folder.
    public struct Account: Sendable {
        /// The account's index in the folder (0 is `data`, 1 is `data#2`, …).
        public var index: Int
        /// The session read from it.
        public var imported: ImportedSession
    }

    /// The `dbiMtpAuthorization` block id.
    static let mtpAuthorizationBlock: UInt32 = 0x4B
    /// The 7.3 key-file trailer magic (`KD2\0`) and the trailer version read here.
    static let trailerMagic: UInt32 = 0x4B44_3200
    static let trailerVersion: UInt32 = 2
    /// Most accounts Telegram Desktop keeps (`kMaxAccounts`, with premium).
    static let maximumAccounts = 6

    /// Whether `path` is a directory holding a `key_datas` (or `key_data0`/`key_data1`) file.
    public static func isTDataFolder(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return false }
        return keyFilePath(in: path) != nil
    }

    static func keyFilePath(in folder: String) -> String? {
        ["s", "1", "0"].map { "\(folder)/key_data\($0)" }.first { access($0, F_OK) == 0 }
    }

    /// Reads every account.
    /// - Parameter passcode: The local passcode; nil or empty for none.
    /// - Throws: ``VaultError/Code/wrongPassphrase`` when the folder needs a passcode (none was given)
    ///   or the passcode is wrong; ``VaultError/Code/corrupt`` for truncated or damaged files;
    ///   ``VaultError/Code/invalidArgument`` for a folder this build cannot read (the message says why).
    ///
    /// The work (a PBKDF2 of 100,000 rounds with a passcode) runs on a key-derivation thread, never
    /// on Swift's cooperative pool or the caller's actor.
    public static func read(folder: String, passcode: SecretBytes?) async throws(VaultError) -> [Account] {
        try await KDFLane.run { () throws(VaultError) -> [Account] in try readBlocking(folder: folder, passcode: passcode) }
    }

    /// ``read(folder:passcode:)`` on the calling thread.
    static func readBlocking(folder: String, passcode: SecretBytes?) throws(VaultError) -> [Account] {
        guard let keyPath = keyFilePath(in: folder) else {
            throw VaultError(.invalidArgument, "\(folder) has no key_datas file: it is not a Telegram Desktop tdata folder")
        }
        let keyFile = try TDFFile.read(keyPath)
        let (saltBlob, wrappedKey, infoBlob, trailer, trailerPresent) = try keyFile.data.withTypedBytes {
            (raw) throws(VaultError) -> ([UInt8]?, [UInt8]?, [UInt8]?, [UInt8]?, Bool) in
            var reader = QDataReader(raw, what: keyPath)
            let salt = try reader.byteArray()
            let wrapped = try reader.byteArray()
            let info = try reader.byteArray()
            guard !reader.isAtEnd else { return (salt, wrapped, info, nil, false) }
            return (salt, wrapped, info, try reader.byteArray(), true)
        }
        guard let salt = saltBlob, salt.count == TDataLocalCrypto.saltSize else {
            throw VaultError(.corrupt, "\(keyPath) has no \(TDataLocalCrypto.saltSize)-byte salt")
        }
        guard let info = infoBlob else { throw VaultError(.corrupt, "\(keyPath) has no accounts block") }
        var hasTrailer = false
        if trailerPresent {
            guard let trailer else { throw VaultError(.corrupt, "\(keyPath) has a null trailer") }
            let (magic, version, wraps) = try trailer.withTypedBytes { (raw) throws(VaultError) -> (UInt32, UInt32, UInt32) in
                var inner = QDataReader(raw, what: "\(keyPath)'s trailer")
                let magic = try inner.uint32()
                guard magic == trailerMagic else { return (magic, 0, 0) }
                let version = try inner.uint32()
                guard version == trailerVersion else { return (magic, version, 0) }
                _ = try inner.uint32()  // committed generation
                return (magic, version, try inner.uint32())
            }
            guard magic == trailerMagic else {
                throw VaultError(.invalidArgument, "\(keyPath) has data after its accounts block that is no Telegram Desktop 7.3 trailer: a newer layout?")
            }
            guard version == trailerVersion else {
                throw VaultError(
                    .invalidArgument,
                    "\(keyPath) has a key-file trailer of version \(version), newer than the version \(trailerVersion) (Telegram Desktop 7.3) this build reads"
                )
            }
            if wraps > 0 || wrappedKey == nil {
                throw VaultError(
                    .invalidArgument,
                    "\(folder) is locked with a local passcode the Telegram Desktop 7.3 way (Argon2id/scrypt passcode wraps), which "
                        + "this build does not read; turn the passcode off in Telegram Desktop (Settings > Privacy and Security > Local "
                        + "passcode), import, then turn it on again"
                )
            }
            hasTrailer = true
        }
        guard let wrappedKey else { throw VaultError(.corrupt, "\(keyPath) has no wrapped local key") }
        // The local key: under the empty passcode first (7.3 always; legacy without a passcode).
        let givenPasscode = passcode.flatMap { $0.count > 0 ? $0 : nil }
        var localKey: SecretBytes?
        if givenPasscode == nil || hasTrailer {
            localKey = try unwrap(wrappedKey, salt: salt, passcode: nil, what: keyPath)
            if localKey == nil {
                throw VaultError(
                    .wrongPassphrase,
                    hasTrailer ? "\(keyPath) does not open under the empty passcode: damaged?" : "\(folder) is locked with a local passcode: give it (SESSION_VAULT_TDATA_PASSCODE_FILE, SESSION_VAULT_TDATA_PASSCODE or the terminal)"
                )
            }
        } else {
            localKey = try unwrap(wrappedKey, salt: salt, passcode: givenPasscode, what: keyPath)
            guard localKey != nil else { throw VaultError(.wrongPassphrase, "wrong local passcode for \(folder)") }
        }
        guard let localKey else { throw VaultError(.wrongPassphrase, "wrong local passcode for \(folder)") }
        defer { localKey.wipe() }
        guard let accountsInfo = try info.withTypedBytes({ (raw) throws(VaultError) in
            try TDataLocalCrypto.decryptLocal(raw, key: localKey, what: "\(keyPath)'s accounts block")
        }) else {
            throw VaultError(.corrupt, "\(keyPath)'s accounts block does not decrypt under its local key")
        }
        defer { accountsInfo.wipe() }
        let indices = try accountsInfo.withUnsafeBytes { (raw) throws(VaultError) -> [Int] in
            var stream = QDataReader(raw, what: "\(keyPath)'s accounts block")
            let count = Int(Int32(bitPattern: try stream.uint32()))
            guard (1...maximumAccounts).contains(count) else {
                throw VaultError(.corrupt, "\(keyPath) lists \(count) accounts (Telegram Desktop keeps 1 to \(maximumAccounts))")
            }
            var result: [Int] = []
            for _ in 0..<count {
                let index = Int(Int32(bitPattern: try stream.uint32()))
                guard (0..<100).contains(index), !result.contains(index) else { throw VaultError(.corrupt, "\(keyPath) lists the account index \(index)") }
                result.append(index)
            }
            return result
        }
        var notes = ["Telegram Desktop tdata (key file written by version \(appVersionText(keyFile.version)))"]
        if givenPasscode != nil && hasTrailer { notes.append("the folder has no local passcode; the one given was not needed") }
        return try indices.map { (index) throws(VaultError) -> Account in
            Account(index: index, imported: try readAccount(folder: folder, index: index, localKey: localKey, notes: notes))
        }
    }

    static func unwrap(_ wrapped: [UInt8], salt: [UInt8], passcode: SecretBytes?, what: String) throws(VaultError) -> SecretBytes? {
        let passcodeKey = try salt.withTypedBytes { (saltBytes) throws(VaultError) -> SecretBytes in
            if let passcode {
                return try passcode.withUnsafeBytes { (code) throws(VaultError) in try TDataLocalCrypto.createLocalKey(passcode: code, salt: saltBytes) }
            }
            return try TDataLocalCrypto.createLocalKey(passcode: UnsafeRawBufferPointer(start: nil, count: 0), salt: saltBytes)
        }
        defer { passcodeKey.wipe() }
        guard let inner = try wrapped.withTypedBytes({ (raw) throws(VaultError) in
            try TDataLocalCrypto.decryptLocal(raw, key: passcodeKey, what: "\(what)'s local key")
        }) else { return nil }
        defer { inner.wipe() }
        guard inner.count >= TDataLocalCrypto.keySize else {
            throw VaultError(.corrupt, "\(what)'s local key is \(inner.count) bytes, not \(TDataLocalCrypto.keySize)")
        }
        return try inner.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<TDataLocalCrypto.keySize]))
        }
    }

    /// `7003001` → `7.3.1`.
    static func appVersionText(_ version: Int32) -> String {
        "\(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000)"
    }

    /// `ComputeDataNameKey` + `ToFilePart`: MD5 of the data name, its first 8 bytes as 16 hex
    /// digits, low nibble first.
    static func fileName(forAccount index: Int) -> String {
        let name = Array((index == 0 ? "data" : "data#\(index + 1)").utf8)
        var digest = [UInt8](repeating: 0, count: 16)
        name.withUnsafeBufferPointer { sv_md5($0.baseAddress, $0.count, &digest) }
        let hex = Array("0123456789ABCDEF".utf8)
        var result: [UInt8] = []
        for byte in digest.prefix(8) {
            result.append(hex[Int(byte & 0x0F)])
            result.append(hex[Int(byte >> 4)])
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Finds `base` followed by `s`, `1` or `0` (the file's generations, newest first), reads it as a
    /// `TDF$` file and decrypts its block under the local key, in guarded memory (the caller wipes it).
    /// Returns the path read, the file (its version) and the decrypted block.
    /// Nil when none of the three exists.
    static func readEncryptedFile(_ base: String, localKey: SecretBytes) throws(VaultError) -> (path: String, file: TDFFile, block: SecretBytes)? {
        guard let path = ["s", "1", "0"].map({ base + $0 }).first(where: { access($0, F_OK) == 0 }) else { return nil }
        let file = try TDFFile.read(path)
        guard let encrypted = try file.data.withTypedBytes({ (raw) throws(VaultError) -> [UInt8]? in
            var outer = QDataReader(raw, what: path)
            return try outer.byteArray()
        }) else { throw VaultError(.corrupt, "\(path) holds no encrypted block") }
        guard let block = try encrypted.withTypedBytes({ (raw) throws(VaultError) in
            try TDataLocalCrypto.decryptLocal(raw, key: localKey, what: path)
        }) else {
            throw VaultError(.corrupt, "\(path) does not decrypt under the folder's local key: damaged, or from another folder")
        }
        return (path, file, block)
    }

    static func readAccount(folder: String, index: Int, localKey: SecretBytes, notes: [String]) throws(VaultError) -> ImportedSession {
        guard let (path, file, block) = try readEncryptedFile("\(folder)/\(fileName(forAccount: index))", localKey: localKey) else {
            throw VaultError(.corrupt, "account \(index) of \(folder) has no file \(fileName(forAccount: index))s")
        }
        defer { block.wipe() }
        return try block.withUnsafeBytes { (raw) throws(VaultError) -> ImportedSession in
            var stream = QDataReader(raw, what: path)
            let blockID = try stream.uint32()
            guard blockID == mtpAuthorizationBlock else {
                throw VaultError(
                    .invalidArgument,
                    "\(path) starts with block 0x\(String(blockID, radix: 16)), not the MTP authorization (0x4b): a newer Telegram Desktop layout?"
                )
            }
            guard let range = try stream.byteArrayRange() else { throw VaultError(.corrupt, "\(path) has a null MTP authorization") }
            var mtp = QDataReader(UnsafeRawBufferPointer(rebasing: raw[range]), what: "\(path)'s MTP authorization")
            let first = try mtp.uint32()
            let second = try mtp.uint32()
            let userID: Int64
            let mainDC: Int32
            if first == UInt32.max && second == UInt32.max {
                userID = Int64(bitPattern: UInt64(try mtp.uint32()) << 32 | UInt64(try mtp.uint32()))
                mainDC = Int32(bitPattern: try mtp.uint32())
            } else {
                userID = Int64(Int32(bitPattern: first))
                mainDC = Int32(bitPattern: second)
            }
            guard userID > 0 else { throw VaultError(.invalidArgument, "account \(index) of \(folder) is not logged in (user id \(userID))") }
            let environment = try configEnvironment(folder: folder, index: index, localKey: localKey)
            guard environment != .test else {
                throw VaultError(
                    .invalidArgument,
                    "account \(index) of \(folder) is a test-server account (its configs file says Environment::Test); "
                        + "this build imports production tdata accounts only"
                )
            }
            let keyCount = Int(Int32(bitPattern: try mtp.uint32()))
            guard (1...16).contains(keyCount) else { throw VaultError(.corrupt, "\(path) holds \(keyCount) auth keys") }
            var dataCenters: [DataCenter] = []
            var accountNotes = notes
            for _ in 0..<keyCount {
                let dcID = Int32(bitPattern: try mtp.uint32())
                let keyRange = try mtp.take(AuthKey.byteCount)
                guard (1...1000).contains(dcID), !dataCenters.contains(where: { $0.id == dcID }) else {
                    throw VaultError(.corrupt, "\(path) holds a key for DC \(dcID) twice or out of range")
                }
                let endpoint = WellKnownDataCenters.endpoint(dataCenter: dcID, testMode: false)
                dataCenters.append(DataCenter(id: dcID, ipv4: endpoint, authKey: try AuthKey(copying: UnsafeRawBufferPointer(rebasing: mtp.bytes[keyRange]))))
            }
            guard dataCenters.contains(where: { $0.id == mainDC }) else {
                throw VaultError(.corrupt, "\(path) names main DC \(mainDC) but holds no key for it")
            }
            let known = dataCenters.filter { $0.ipv4 != nil }.map { "\($0.id)" }
            if !known.isEmpty {
                accountNotes.append(
                    "the address of DC \(known.joined(separator: ", ")) was inferred from the DC id (production"
                        + (environment == .production ? ", as the account's configs file says" : "; the account has no configs file")
                        + "): the DC options in configs are not read")
            }
            accountNotes.append("account \(index) of the folder; tdata holds no update state or peers here, and Telegram Desktop accounts are never bots")
            let session = Session(dataCenters: dataCenters, user: LoggedInUser(id: userID, dataCenterID: mainDC, isBot: false))
            return ImportedSession(session: session, format: .tdata, schemaVersion: Int(file.version), notes: accountNotes)
        }
    }
}
