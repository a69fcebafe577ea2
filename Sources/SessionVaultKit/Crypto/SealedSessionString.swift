/// A session sealed into one line of text, for bots that keep their session in an environment
/// variable: `svs1.` followed by base64url of a self-contained blob with its own Argon2id keyslot.
///
/// A leaked sealed string is as useless as a leaked vault file. Layout: `docs/FORMAT.md` §10.
///
/// <!-- example: given session: Session -->
/// ```swift
/// let passphrase = try PassphraseSource.readPassphrase(.sealedString)         // not the vault's
/// let line = try SealedSessionString.seal(session, passphrase: passphrase)      // "svs1.…"
/// let vault = try await SealedSessionString.open(line, passphrase: passphrase)  // memory-only
/// ```
public enum SealedSessionString {
    /// Every sealed string starts with this.
    public static let prefix = "svs1."
    /// The blob's version byte.
    static let version: UInt8 = 1
    /// Strings longer than this are refused before decoding (a session with 100,000 channels fits).
    public static let maximumCharacterCount = 4 * 1024 * 1024

    /// Seals `session` (data centers, user, update state, channels, extras; not the peer cache).
    /// - Parameters:
    ///   - session: What the string holds.
    ///   - passphrase: The string passphrase (``PassphraseSource/Names/sealedString``), not the vault's.
    ///   - configuration: Its ``SessionVault/Configuration/kdf`` chooses the Argon2id parameters.
    public static func seal(
        _ session: Session,
        passphrase: Passphrase,
        configuration: SessionVault.Configuration = SessionVault.Configuration()
    ) throws(VaultError) -> String {
        let parameters = configuration.kdf
        try parameters.validate(allowingTestParameters: configuration.allowsInsecureKDFParametersForTesting)
        let dataKey = try SecretBytes.random(count: KeyDerivation.keyByteCount)
        let salt = Sodium.randomPublicBytes(count: KeyDerivation.saltByteCount)
        let kek = try KeyDerivation.passphraseKEK(passphrase, salt: salt, parameters: parameters)
        let wrapped = KeyDerivation.wrap(dataKey: dataKey, kek: kek)
        var header: [UInt8] = [version, parameters.algorithm.rawValue]
        header += ByteWriter.littleEndian(parameters.opsLimit)
        header += ByteWriter.littleEndian(parameters.memLimit)
        header += salt + wrapped.nonce + wrapped.wrappedKey
        let payloadKey = try self.payloadKey(dataKey: dataKey, header: header)
        let payload = try encodePayload(session)
        let sealed = payload.withUnsafeBytes { SecretBox.seal($0, key: payloadKey) }
        return prefix + (try GuardedBase64.encodeText(header + sealed.nonce + sealed.ciphertext, padding: .unpadded))
    }

    /// Opens a sealed string into a memory-only vault holding its session.
    /// - Throws: ``VaultError/Code/invalidArgument`` for text that is not a sealed string,
    ///   ``VaultError/Code/kdfParametersOutOfBounds`` (checked before deriving),
    ///   ``VaultError/Code/wrongPassphrase``, ``VaultError/Code/tampered``, ``VaultError/Code/corrupt``.
    public static func open(
        _ text: String,
        passphrase: Passphrase,
        configuration: SessionVault.Configuration = SessionVault.Configuration()
    ) async throws(VaultError) -> SessionVault {
        let session = try decode(text, passphrase: passphrase, configuration: configuration)
        let vault = try await SessionVault.inMemory(configuration: configuration)
        try await vault.save(session)
        return vault
    }

    /// Decodes and authenticates a sealed string into a ``Session``.
    static func decode(
        _ text: String,
        passphrase: Passphrase,
        configuration: SessionVault.Configuration
    ) throws(VaultError) -> Session {
        let (blob, parameters) = try parse(text)
        try parameters.validate(allowingTestParameters: configuration.allowsInsecureKDFParametersForTesting)
        var offset = 18
        let salt = Array(blob[offset..<(offset + 16)])
        offset += 16
        let keyNonce = Array(blob[offset..<(offset + 24)])
        offset += 24
        let wrappedKey = Array(blob[offset..<(offset + 48)])
        offset += 48
        let header = Array(blob[0..<offset])
        let payloadNonce = Array(blob[offset..<(offset + 24)])
        offset += 24
        let ciphertext = Array(blob[offset...])
        let kek = try KeyDerivation.passphraseKEK(passphrase, salt: salt, parameters: parameters)
        guard let dataKey = try KeyDerivation.unwrap(wrappedKey: wrappedKey, nonce: keyNonce, kek: kek) else {
            throw VaultError(.wrongPassphrase, "wrong passphrase for the sealed string (or its keyslot was altered)")
        }
        let payloadKey = try self.payloadKey(dataKey: dataKey, header: header)
        let payload = try SecretBytes(count: ciphertext.count - SecretBox.macByteCount)
        let opened = ciphertext.withUnsafeBytes { sealedBytes in
            payloadNonce.withUnsafeBytes { nonce in
                payload.withUnsafeMutableBytes { SecretBox.open(sealedBytes, nonce: nonce, key: payloadKey, into: $0) }
            }
        }
        guard opened else { throw VaultError(.tampered, "the sealed string failed authentication") }
        return try decodePayload(payload)
    }

    /// The KDF parameters a sealed string declares (public metadata, like a vault's keyslot
    /// parameters): read without a passphrase and without deriving anything.
    public static func kdfParameters(of text: String) throws(VaultError) -> KDFParameters {
        try parse(text).parameters
    }

    /// The blob of a sealed string and its declared KDF parameters (not yet checked against the bounds).
    private static func parse(_ text: String) throws(VaultError) -> (blob: [UInt8], parameters: KDFParameters) {
        var trimmed = Substring(text)
        while let last = trimmed.last, last == "\n" || last == "\r" || last == " " { trimmed = trimmed.dropLast() }
        guard trimmed.utf8.count <= maximumCharacterCount else {
            throw VaultError(.invalidArgument, "the sealed string is longer than \(maximumCharacterCount) characters")
        }
        guard trimmed.hasPrefix(prefix) else {
            throw VaultError(.invalidArgument, "not a sealed session string (it does not start with '\(prefix)')")
        }
        guard let blob = try GuardedBase64.decodeText(trimmed.dropFirst(prefix.count), padding: .unpadded) else {
            throw VaultError(.invalidArgument, "the sealed string is not valid unpadded base64url")
        }
        let headerCount = 2 + 8 + 8 + KeyDerivation.saltByteCount + SecretBox.nonceByteCount + KeyDerivation.wrappedKeyByteCount
        guard blob.count >= headerCount + SecretBox.nonceByteCount + SecretBox.macByteCount else {
            throw VaultError(.corrupt, "the sealed string is truncated (\(blob.count) bytes)")
        }
        guard blob[0] == version else {
            throw VaultError(.unsupportedFormatVersion, "the sealed string has version \(blob[0]); this build reads \(version)")
        }
        guard let algorithm = KDFParameters.Algorithm(rawValue: blob[1]) else {
            throw VaultError(.unsupportedFormatVersion, "the sealed string uses an unknown KDF (code \(blob[1]))")
        }
        func u64(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(blob[offset + $1]) << (8 * UInt64($1)) } }
        let parameters = KDFParameters(algorithm: algorithm, opsLimit: u64(2), memLimit: u64(10))
        return (blob, parameters)
    }

    /// K_payload = BLAKE2b-256(key = DEK, LABEL("sealed-string-key") ‖ header).
    private static func payloadKey(dataKey: SecretBytes, header: [UInt8]) throws(VaultError) -> SecretBytes {
        try KeySchedule.label("sealed-string-key").withBytes { (label) throws(VaultError) in
            try header.withBytes { (headerBytes) throws(VaultError) in
                try Blake2b.subkey(key: dataKey, parts: [label, headerBytes])
            }
        }
    }

    /// Records in canonical order, each `u8 kind ‖ u32le length ‖ plaintext` (`docs/FORMAT.md` §5.5).
    private static func encodePayload(_ session: Session) throws(VaultError) -> SecretBytes {
        let scratch = try SecretBytes(count: RecordSealer.maximumPlaintextByteCount)
        var pieces: [(RecordKind, (inout ByteWriter) throws(VaultError) -> Void)] = []
        for dataCenter in session.dataCenters.sorted(by: { $0.identity < $1.identity }) {
            pieces.append((.dataCenter, { (writer) throws(VaultError) in try RecordCodec.encode(dataCenter, into: &writer) }))
        }
        if let user = session.user {
            pieces.append((.user, { (writer) throws(VaultError) in try RecordCodec.encode(user, into: &writer) }))
        }
        if let state = session.updateState {
            pieces.append((.updateState, { (writer) throws(VaultError) in
                try RecordCodec.encodeUpdateState(pts: state.pts, qts: state.qts, date: state.date, seq: state.seq, into: &writer)
            }))
            for (channel, pts) in state.channels.sorted(by: { $0.key < $1.key }) {
                pieces.append((.channelState, { (writer) throws(VaultError) in
                    try RecordCodec.encodeChannelState(id: channel, pts: pts, into: &writer)
                }))
            }
        }
        if session.apiID != nil || session.isTestMode || session.takeoutID != nil {
            pieces.append((.sessionExtras, { (writer) throws(VaultError) in
                try RecordCodec.encodeSessionExtras(apiID: session.apiID, isTestMode: session.isTestMode, takeoutID: session.takeoutID, into: &writer)
            }))
        }
        // Size first, then write into one guarded buffer.
        var total = 0
        for (_, encode) in pieces {
            total += 5 + (try scratch.withUnsafeMutableBytes { (buffer) throws(VaultError) -> Int in
                var writer = ByteWriter(buffer)
                try encode(&writer)
                return writer.count
            })
        }
        scratch.wipe()
        let payload = try SecretBytes(count: total)
        try payload.withUnsafeMutableBytes { (buffer) throws(VaultError) in
            var offset = 0
            for (kind, encode) in pieces {
                let body = UnsafeMutableRawBufferPointer(rebasing: buffer[(offset + 5)...])
                var writer = ByteWriter(body)
                try encode(&writer)
                buffer[offset] = kind.rawValue
                for i in 0..<4 { buffer[offset + 1 + i] = UInt8(truncatingIfNeeded: UInt32(writer.count) >> (8 * UInt32(i))) }
                offset += 5 + writer.count
            }
        }
        return payload
    }

    private static func decodePayload(_ payload: SecretBytes) throws(VaultError) -> Session {
        try payload.withUnsafeBytes { (raw) throws(VaultError) -> Session in
            var session = Session()
            var dataCenters: [DataCenter.Identity: DataCenter] = [:]
            var channels: [Int64: Int32] = [:]
            var offset = 0
            var lastKind: UInt8 = 0
            var lastDataCenter: DataCenter.Identity?
            var lastChannel: Int64?
            var sawExtras = false
            while offset < raw.count {
                guard offset + 5 <= raw.count, let kind = RecordKind(rawValue: raw[offset]) else {
                    throw VaultError(.corrupt, "the sealed string's payload is malformed")
                }
                guard kind.rawValue >= lastKind, kind != .manifest, kind != .peer, kind != .peerIndex else {
                    throw VaultError(.corrupt, "the sealed string's records are out of order or of an unexpected kind")
                }
                lastKind = kind.rawValue
                let length = (0..<4).reduce(0) { $0 | Int(raw[offset + 1 + $1]) << (8 * $1) }
                offset += 5
                guard length <= raw.count - offset else { throw VaultError(.corrupt, "the sealed string's payload is truncated") }
                let body = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
                offset += length
                switch try RecordCodec.decode(kind: kind, from: body) {
                case .dataCenter(let dataCenter):
                    guard lastDataCenter.map({ $0 < dataCenter.identity }) ?? true else {
                        throw VaultError(.corrupt, "the sealed string's data centers are repeated or out of order")
                    }
                    lastDataCenter = dataCenter.identity
                    dataCenters[dataCenter.identity] = dataCenter
                case .user(let user):
                    guard session.user == nil else { throw VaultError(.corrupt, "the sealed string has two users") }
                    session.user = user
                case .updateState(let pts, let qts, let date, let seq):
                    guard session.updateState == nil else { throw VaultError(.corrupt, "the sealed string has two update states") }
                    session.updateState = UpdateState(pts: pts, qts: qts, date: date, seq: seq)
                case .channelState(let id, let pts):
                    guard session.updateState != nil, lastChannel.map({ $0 < id }) ?? true else {
                        throw VaultError(.corrupt, "the sealed string has a misplaced, repeated or out-of-order channel state")
                    }
                    lastChannel = id
                    channels[id] = pts
                case .sessionExtras(let apiID, let isTestMode, let takeoutID):
                    guard !sawExtras else { throw VaultError(.corrupt, "the sealed string has two extras records") }
                    sawExtras = true
                    session.apiID = apiID
                    session.isTestMode = isTestMode
                    session.takeoutID = takeoutID
                default:
                    throw VaultError(.corrupt, "the sealed string holds an unexpected record kind")
                }
            }
            session.updateState?.channels = channels
            session.dataCenters = dataCenters.keys.sorted().map { dataCenters[$0]! }
            return session
        }
    }
}
