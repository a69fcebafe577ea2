extension SessionVault {
    /// Replaces the passphrase: the data key is re-wrapped under a key derived from `newPassphrase`.
    ///
    /// Only the keyslot and the header MAC are rewritten, in one transaction, so the time does not
    /// depend on the number of records. Recovery-key slots stay valid. Afterwards the old wrapped key
    /// is purged from the file and its WAL.
    /// - Parameters:
    ///   - newPassphrase: The new passphrase.
    ///   - kdf: Argon2id parameters for the new slot; nil keeps the current slot's parameters.
    /// - Throws: ``VaultError/Code/invalidArgument`` for a memory-only vault (it has no passphrase),
    ///   ``VaultError/Code/kdfParametersOutOfBounds`` for parameters outside the bounds.
    public func changePassphrase(to newPassphrase: Passphrase, kdf: KDFParameters? = nil) async throws(VaultError) {
        try await exclusive { () throws(VaultError) in
            let sealer = try requireSealer()
            let slots = currentKeyslots
            guard let existing = slots.first(where: { $0.kind == .passphrase }) else {
                throw VaultError(.invalidArgument, "this vault has no passphrase keyslot (memory-only vaults have none)")
            }
            let parameters = kdf ?? existing.kdfParameters ?? .default
            try parameters.validate(allowingTestParameters: configuration.allowsInsecureKDFParametersForTesting)
            let newSlot = try await Keyslots.makePassphraseSlot(
                number: existing.slot,
                passphrase: newPassphrase,
                parameters: parameters,
                dataKey: sealer.keys.dataKey
            )
            let newSlots = slots.filter { $0.kind != .passphrase } + [newSlot]
            try await commitKeyslots(newSlots.sorted { $0.slot < $1.slot }, sealer: sealer)
        }
    }

    /// Adds a recovery-key keyslot (replacing an existing one) and returns the new key.
    ///
    /// The recovery key is shown to the caller once and never stored: only the data key wrapped under
    /// a key derived from it is.
    public func addRecoveryKey() async throws(VaultError) -> RecoveryKey {
        try await exclusive { () throws(VaultError) in
            let sealer = try requireSealer()
            let slots = currentKeyslots
            guard slots.contains(where: { $0.kind == .passphrase }) else {
                throw VaultError(.invalidArgument, "this vault has no passphrase keyslot (memory-only vaults have none)")
            }
            let kept = slots.filter { $0.kind != .recoveryKey }
            let used = Set(kept.map(\.slot))
            guard let number = (UInt8(0)..<UInt8(Keyslots.maximumCount)).first(where: { !used.contains($0) }) else {
                throw VaultError(.invalidArgument, "the vault already has \(Keyslots.maximumCount) keyslots")
            }
            let recoveryKey = try RecoveryKey.generate()
            let slot = try Keyslots.makeRecoverySlot(number: number, recoveryKey: recoveryKey, dataKey: sealer.keys.dataKey)
            try await commitKeyslots((kept + [slot]).sorted { $0.slot < $1.slot }, sealer: sealer)
            return recoveryKey
        }
    }

    /// Rotates the data key: a new random data key, every record re-sealed under it, the passphrase
    /// slot re-wrapped, all in one transaction; then the old ciphertexts and wrapped keys are purged
    /// from the file and its WAL.
    ///
    /// A recovery key wraps the old data key and cannot be carried over without the recovery key
    /// itself, so an existing recovery slot is replaced by a new recovery key, which is returned.
    /// - Parameters:
    ///   - passphrase: The passphrase for the new passphrase slot (usually the current one).
    ///   - progress: Called with (records sealed, total) while re-sealing.
    /// - Returns: The new recovery key when the vault had one, else nil.
    @discardableResult
    public func rotateDataKey(
        passphrase: Passphrase,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) async throws(VaultError) -> RecoveryKey? {
        try await exclusive { () throws(VaultError) -> RecoveryKey? in
            let oldSealer = try requireSealer()
            let slots = currentKeyslots
            guard let passphraseSlot = slots.first(where: { $0.kind == .passphrase }),
                let parameters = passphraseSlot.kdfParameters
            else {
                throw VaultError(.invalidArgument, "this vault has no passphrase keyslot (memory-only vaults have none)")
            }
            let dataKey = try SecretBytes.random(count: KeyDerivation.keyByteCount)
            // A rotation re-seals every record anyway: it also migrates the vault to the format
            // version this build writes (version 1 → 2: records padded, docs/FORMAT.md §5.4).
            var header = currentHeader
            header.formatVersion = try configuration.validatedWritingFormatVersion()
            let keys = try KeySchedule(dataKey: dataKey, vaultID: header.vaultID, formatVersion: header.formatVersion)
            let sealer = try RecordSealer(keys: keys)
            var newSlots = [
                try await Keyslots.makePassphraseSlot(
                    number: passphraseSlot.slot,
                    passphrase: passphrase,
                    parameters: parameters,
                    dataKey: dataKey
                )
            ]
            var recoveryKey: RecoveryKey?
            if let recoverySlot = slots.first(where: { $0.kind == .recoveryKey }) {
                let key = try RecoveryKey.generate()
                newSlots.append(try Keyslots.makeRecoverySlot(number: recoverySlot.slot, recoveryKey: key, dataKey: dataKey))
                recoveryKey = key
            }
            newSlots.sort { $0.slot < $1.slot }
            var newHeader = header
            newHeader.mac = keys.headerMAC(header: newHeader, keyslots: newSlots)
            let stored = try await peerRecordsFromStore(sealer: oldSealer)
            let sealed = try SessionRecords.seal(
                currentSession,
                peers: stored.peers,
                peerIndex: stored.index,
                with: sealer,
                progress: progress
            )
            let store = try requireStore()
            try await store.commit(
                RecordTransaction(
                    header: newHeader,
                    keyslots: newSlots,
                    replacesAllRecords: true,
                    upserts: sealed.records
                )
            )
            replaceKeyMaterial(header: newHeader, keyslots: newSlots, sealer: sealer, recordCount: sealed.count, setSum: sealed.sum)
            try await store.purgeFreedSpace()
            return recoveryKey
        }
    }

    /// Rewrites keyslots and the header MAC in one transaction, then purges the old slot bytes.
    private func commitKeyslots(_ slots: [StoredKeyslot], sealer: RecordSealer) async throws(VaultError) {
        var header = currentHeader
        header.mac = sealer.keys.headerMAC(header: header, keyslots: slots)
        let store = try requireStore()
        try await store.commit(RecordTransaction(header: header, keyslots: slots))
        replaceKeyMaterial(header: header, keyslots: slots, sealer: nil, recordCount: nil, setSum: nil)
        try await store.purgeFreedSpace()
    }
}

extension SessionVault {
    /// Re-reads every sealed record from storage, opens and decodes each one, checks the manifest,
    /// and compares the result with the session in memory.
    ///
    /// Opening a vault already does this; call it to audit a long-running vault, or to measure what
    /// a full load costs.
    /// - Returns: The number of records authenticated (the manifest excluded).
    /// - Throws: ``VaultError/Code/tampered`` when a record, the record set or the in-memory state
    ///   does not match what is stored.
    @discardableResult
    public func authenticateStoredRecords() async throws(VaultError) -> Int {
        try await exclusive { () throws(VaultError) -> Int in
            let sealer = try requireSealer()
            let records = try await requireStore().readRecords()
            let state = try Self.assemble(records: records, sealer: sealer)
            guard state.session == currentSession else {
                throw VaultError(.tampered, "the stored records differ from the session this vault holds in memory")
            }
            return Int(state.recordCount)
        }
    }
}
