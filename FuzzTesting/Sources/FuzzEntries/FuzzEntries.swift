// The fuzz entry functions: one per libFuzzer target, each taking the raw input bytes. They are
// deterministic apart from fresh random nonces and salts (which never change the decoding path),
// catch every thrown VaultError (a refusal is a correct answer to hostile input), and check a
// round-trip property where one exists. A crash, an ASan report or a failed precondition is a bug.
import Dispatch
import Foundation
@_spi(Testing) @testable import SessionVaultKit

public enum FuzzEntry {
    /// Argon2id cost cap for inputs that would actually derive a key: at most this many passes and
    /// this much memory. Inputs asking for more *within* the accepted bounds (up to 10 passes and
    /// 1 GiB) are skipped before the library is called: their path is the same as a cheap input's
    /// (derive, then fail to unwrap), only seconds slower. Out-of-bounds parameters are cheap (refused
    /// before deriving) and are always passed through.
    static let maximumOpsLimit: UInt64 = 2
    static let maximumMemLimit: UInt64 = 64 * 1024

    static func isExpensive(_ parameters: KDFParameters) -> Bool {
        guard (try? parameters.validate(allowingTestParameters: true)) != nil else { return false }
        return parameters.opsLimit > maximumOpsLimit || parameters.memLimit > maximumMemLimit
    }

    static var testConfiguration: SessionVault.Configuration {
        var configuration = SessionVault.Configuration()
        configuration.allowsInsecureKDFParametersForTesting = true
        configuration.fallback = .fail
        configuration.durability = .normal
        return configuration
    }

    // MARK: - Telethon and Pyrogram strings

    /// The string-session importer (detection, Telethon string, Pyrogram strings of every length)
    /// on arbitrary bytes, as `session-vault import --string` reads them.
    public static func sessionString(_ input: UnsafeRawBufferPointer) {
        guard let secret = try? SecretBytes(copying: input) else { return }
        for format in [nil, SessionFormat.telethonString, .pyrogramString] {
            _ = try? SessionImporter.readString(secret, origin: "fuzz input", format: format)
        }
    }

    // MARK: - Sealed strings

    /// The sealed-string reader. Even first byte: the rest is the text (`svs1.…`), decoded with the
    /// fixture passphrase. Odd first byte: the rest is a payload plaintext, sealed here under a
    /// valid test-floor header so that the payload parser and record decoders behind the
    /// authentication are reached.
    public static func sealedString(_ input: UnsafeRawBufferPointer) {
        guard let mode = input.first else { return }
        let rest = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let text: String
        if mode & 1 == 0 {
            text = String(decoding: rest, as: UTF8.self)
            if let parameters = sealedStringParameters(text), isExpensive(parameters) { return }
        } else {
            guard let sealer = SealedPayloadSealer.shared, let sealed = sealer.seal(rest) else { return }
            text = sealed
        }
        guard let passphrase = try? Passphrase(copying: SealedPayloadSealer.passphrase) else { return }
        _ = try? SealedSessionString.decode(text, passphrase: passphrase, configuration: testConfiguration)
    }

    /// The KDF parameters a sealed string asks for, read the way the decoder reads them.
    static func sealedStringParameters(_ text: String) -> KDFParameters? {
        var trimmed = Substring(text)
        while let last = trimmed.last, last == "\n" || last == "\r" || last == " " { trimmed = trimmed.dropLast() }
        guard trimmed.hasPrefix(SealedSessionString.prefix),
            let blob = try? GuardedBase64.decodeText(trimmed.dropFirst(SealedSessionString.prefix.count), padding: .unpadded),
            blob.count >= 18
        else { return nil }
        func u64(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(blob[offset + $1]) << (8 * UInt64($1)) } }
        return KDFParameters(opsLimit: u64(2), memLimit: u64(10))
    }

    /// Seals arbitrary payload bytes the way `SealedSessionString.seal` does (docs/FORMAT.md §10).
    final class SealedPayloadSealer: Sendable {
        /// The passphrase of the sealed-string vectors (Fixtures/vectors/sealed-string.json).
        static let passphrase = "sealed string passphrase"
        static let shared = try? SealedPayloadSealer()

        let header: [UInt8]
        let payloadKey: SecretBytes

        init() throws(VaultError) {
            let parameters = KDFParameters.insecureForTestingOnly
            let dataKey = try SecretBytes.random(count: KeyDerivation.keyByteCount)
            let salt = [UInt8](repeating: 0x5A, count: KeyDerivation.saltByteCount)
            let kek = try KeyDerivation.passphraseKEK(
                try Passphrase(copying: Self.passphrase),
                salt: salt,
                parameters: parameters
            )
            let wrapped = KeyDerivation.wrap(dataKey: dataKey, kek: kek)
            var header: [UInt8] = [SealedSessionString.version, parameters.algorithm.rawValue]
            header += ByteWriter.littleEndian(parameters.opsLimit)
            header += ByteWriter.littleEndian(parameters.memLimit)
            header += salt + wrapped.nonce + wrapped.wrappedKey
            self.header = header
            self.payloadKey = try KeySchedule.label("sealed-string-key").withBytes { (label) throws(VaultError) in
                try header.withBytes { (headerBytes) throws(VaultError) in
                    try Blake2b.subkey(key: dataKey, parts: [label, headerBytes])
                }
            }
        }

        func seal(_ payload: UnsafeRawBufferPointer) -> String? {
            let sealed = SecretBox.seal(payload, key: payloadKey)
            guard let text = try? GuardedBase64.encodeText(header + sealed.nonce + sealed.ciphertext, padding: .unpadded) else {
                return nil
            }
            return SealedSessionString.prefix + text
        }
    }

    // MARK: - Records

    /// The record decoder: the first byte chooses the kind, the rest is the plaintext.
    public static func recordCodec(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let kind = RecordKind.allCases[Int(first) % RecordKind.allCases.count]
        _ = try? RecordCodec.decode(kind: kind, from: UnsafeRawBufferPointer(rebasing: input.dropFirst()))
    }

    // MARK: - Recovery keys

    /// The recovery-key parser; a key that parses must survive display form → parse → display form.
    public static func recoveryKey(_ input: UnsafeRawBufferPointer) {
        guard let text = try? SecretBytes(copying: input), let key = try? RecoveryKey(parsing: text) else { return }
        guard let display = try? key.withDisplayForm({ Array($0) }) else {
            preconditionFailure("a parsed recovery key has no display form")
        }
        let again = display.withUnsafeBytes { raw in try? SecretBytes(copying: raw) }.flatMap { try? RecoveryKey(parsing: $0) }
        guard let again, let redisplay = try? again.withDisplayForm({ Array($0) }) else {
            preconditionFailure("a recovery key's display form does not parse")
        }
        precondition(redisplay == display, "a recovery key changed in a display round trip")
    }

    // MARK: - Vault files

    /// The fixture passphrase and recovery key of Fixtures/vaults/tamper-base.session (every tampered file).
    static let vaultPassphrase = "tamper base passphrase"
    static let vaultRecoveryKey = "JKZ4Z-WGRNL-X46F4-ZJ7K6-BF474-KKQIL-772L2-5RTES-GR5OC-V6KAO-HIGXI"

    /// One scratch directory per process, on tmpfs when there is one.
    static let scratchDirectory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        var template = Array("\(base)/sv-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed in \(base)") }
        return String(cString: made)
    }()

    /// The vault-file open path on arbitrary bytes: the bytes are written to a file, which is opened
    /// as `SessionVault.open(at:)` opens an existing vault (SQLiteRecordStore.open, then
    /// unlockAndLoad: header, keyslots, KDF bounds, unlock, header MAC, records, manifest), with the
    /// fixture passphrase and then with the fixture recovery key, test KDF parameters allowed.
    /// Keyslots that would derive above the cost cap are skipped, as above.
    public static func vaultFile(_ input: UnsafeRawBufferPointer) {
        let directory = scratchDirectory
        let path = directory + "/vault.session"
        for suffix in ["", "-wal", "-shm", "-journal", "-lock", "-creating"] { unlink(path + suffix) }
        guard FileManager.default.createFile(atPath: path, contents: Data(input), attributes: [.posixPermissions: 0o600])
        else { fatalError("cannot write \(path)") }
        runBlocking {
            guard case .success(let library) = SQLiteLibrary.load() else { fatalError("libsqlite3 is not loadable") }
            let configuration = testConfiguration
            guard
                let store = try? await SQLiteRecordStore.open(
                    at: path,
                    library: library,
                    durability: .normal,
                    lockWait: .zero
                )
            else { return }
            defer { try? store.close() }
            if let slots = try? store.readKeyslots(),
                slots.contains(where: { $0.kind == .passphrase && $0.kdfParameters.map(isExpensive) == true })
            {
                return
            }
            if let passphrase = try? Passphrase(copying: vaultPassphrase) {
                _ = try? await SessionVault.unlockAndLoad(store: store, unlock: .passphrase(passphrase), configuration: configuration)
            }
            let keyText = Array(vaultRecoveryKey.utf8)
            if let secret = keyText.withUnsafeBytes({ try? SecretBytes(copying: $0) }), let key = try? RecoveryKey(parsing: secret) {
                _ = try? await SessionVault.unlockAndLoad(store: store, unlock: .recoveryKey(key), configuration: configuration)
            }
        }
    }

    /// Runs async library code to completion from the synchronous fuzzer callback.
    static func runBlocking(_ body: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await body()
            done.signal()
        }
        done.wait()
    }
}
