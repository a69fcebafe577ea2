/// Making and unlocking keyslots: the data key wrapped under passphrase- or recovery-key-derived KEKs.
enum Keyslots {
    /// The most keyslots a vault may have.
    static let maximumCount = 8

    /// A passphrase keyslot: KEK = Argon2id(passphrase, fresh salt, parameters), data key wrapped under
    /// it. Argon2id runs on a ``KDFLane`` thread.
    static func makePassphraseSlot(
        number: UInt8,
        passphrase: Passphrase,
        parameters: KDFParameters,
        dataKey: SecretBytes
    ) async throws(VaultError) -> StoredKeyslot {
        let salt = Sodium.randomPublicBytes(count: KeyDerivation.saltByteCount)
        let kek = try await KDFLane.passphraseKEK(passphrase, salt: salt, parameters: parameters)
        let wrapped = KeyDerivation.wrap(dataKey: dataKey, kek: kek)
        return StoredKeyslot(
            slot: number,
            kindCode: StoredKeyslot.Kind.passphrase.rawValue,
            kdfAlgorithmCode: parameters.algorithm.rawValue,
            opsLimit: parameters.opsLimit,
            memLimit: parameters.memLimit,
            salt: salt,
            nonce: wrapped.nonce,
            wrappedKey: wrapped.wrappedKey
        )
    }

    /// A recovery-key keyslot: KEK = BLAKE2b(recovery key, label ‖ fresh salt), data key wrapped under it.
    static func makeRecoverySlot(number: UInt8, recoveryKey: RecoveryKey, dataKey: SecretBytes) throws(VaultError) -> StoredKeyslot {
        let salt = Sodium.randomPublicBytes(count: KeyDerivation.saltByteCount)
        let kek = try KeyDerivation.recoveryKEK(recoveryKey.secret, salt: salt)
        let wrapped = KeyDerivation.wrap(dataKey: dataKey, kek: kek)
        return StoredKeyslot(
            slot: number,
            kindCode: StoredKeyslot.Kind.recoveryKey.rawValue,
            kdfAlgorithmCode: StoredKeyslot.blake2bAlgorithmCode,
            opsLimit: 0,
            memLimit: 0,
            salt: salt,
            nonce: wrapped.nonce,
            wrappedKey: wrapped.wrappedKey
        )
    }

    /// Unwraps the data key from the first keyslot the secret opens.
    ///
    /// Every passphrase keyslot's KDF parameters are checked against the bounds *before* any
    /// derivation runs, so a hostile file cannot make the opener burn minutes or gigabytes.
    /// Argon2id runs on a ``KDFLane`` thread.
    static func unlock(
        _ keyslots: [StoredKeyslot],
        with unlock: SessionVault.Unlock,
        configuration: SessionVault.Configuration
    ) async throws(VaultError) -> SecretBytes {
        guard keyslots.count <= maximumCount else {
            throw VaultError(.corrupt, "the vault has \(keyslots.count) keyslots (at most \(maximumCount))")
        }
        if let stray = keyslots.first(where: { Int($0.slot) >= maximumCount }) {
            throw VaultError(.corrupt, "keyslot number \(stray.slot) is outside 0–\(maximumCount - 1)")
        }
        switch unlock {
        case .passphrase(let passphrase):
            let candidates = keyslots.filter { $0.kind == .passphrase }
            var parameters: [KDFParameters] = []
            for slot in candidates {
                guard let slotParameters = slot.kdfParameters else {
                    throw VaultError(.unsupportedFormatVersion, "keyslot \(slot.slot) uses an unknown KDF (code \(slot.kdfAlgorithmCode))")
                }
                try slotParameters.validate(allowingTestParameters: configuration.allowsInsecureKDFParametersForTesting)
                parameters.append(slotParameters)
            }
            // The total, before any derivation: eight in-bound slots at the cap cost minutes and 1 GiB
            // each (147.7 s measured); one open may cost at most one slot at the cap.
            let total = parameters.reduce(UInt64(0)) { $0 + $1.opsLimit * $1.memLimit }
            guard total <= KDFParameters.maximumTotalWork else {
                throw VaultError(
                    .kdfParametersOutOfBounds,
                    "the \(parameters.count) passphrase keyslots together need \(total >> 20) MiB-passes of Argon2id, "
                        + "more than one keyslot at the cap (10 passes of 1 GiB: \(KDFParameters.maximumTotalWork >> 20))"
                )
            }
            for (slot, slotParameters) in zip(candidates, parameters) {
                let kek = try await KDFLane.passphraseKEK(passphrase, salt: slot.salt, parameters: slotParameters)
                if let dataKey = try KeyDerivation.unwrap(wrappedKey: slot.wrappedKey, nonce: slot.nonce, kek: kek) {
                    return dataKey
                }
            }
            throw VaultError(
                .wrongPassphrase,
                candidates.isEmpty
                    ? "the vault has no passphrase keyslot"
                    : "wrong passphrase (or the passphrase keyslot was altered)"
            )
        case .recoveryKey(let recoveryKey):
            let candidates = keyslots.filter { $0.kind == .recoveryKey && $0.kdfAlgorithmCode == StoredKeyslot.blake2bAlgorithmCode }
            for slot in candidates {
                let kek = try KeyDerivation.recoveryKEK(recoveryKey.secret, salt: slot.salt)
                if let dataKey = try KeyDerivation.unwrap(wrappedKey: slot.wrappedKey, nonce: slot.nonce, kek: kek) {
                    return dataKey
                }
            }
            throw VaultError(
                .wrongPassphrase,
                candidates.isEmpty ? "the vault has no recovery-key keyslot" : "wrong recovery key (or its keyslot was altered)"
            )
        }
    }
}
