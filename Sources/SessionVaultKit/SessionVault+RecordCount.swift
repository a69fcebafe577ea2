extension SessionVault {
    /// FORMAT.md §7 step 7: before any record is loaded, the manifest is read by its tag and
    /// authenticated, and its count compared with the number of rows the store holds (when it can
    /// count them). A file padded with junk rows is refused (`tampered`, kind manifest) without
    /// loading them; ``assemble(records:sealer:)`` checks the manifest again, count and sum.
    static func checkRecordCount(store: any RecordStore, sealer: RecordSealer) async throws(VaultError) {
        guard let rows = try await store.recordCount() else { return }
        guard let record = try await store.readRecord(tag: sealer.keys.tag(kind: .manifest, identity: [])) else {
            throw VaultError(.tampered, "the manifest record is missing", recordKind: .manifest)
        }
        guard case (.manifest, .manifest(let listed, _)) = try sealer.open(record) else {
            throw VaultError(.tampered, "the manifest's row holds another kind of record", recordKind: .manifest)
        }
        guard rows >= 1, UInt64(rows - 1) == listed else {
            throw VaultError(
                .tampered,
                "the vault holds \(max(rows - 1, 0)) records but its manifest lists \(listed): rows were deleted or inserted",
                recordKind: .manifest
            )
        }
    }
}
