extension SessionVault.Configuration {
    /// The format version new vaults and key rotations write (see ``writesFormatVersionForTesting``).
    /// - Throws: ``VaultError/Code/invalidArgument`` for a version this build does not read.
    func validatedWritingFormatVersion() throws(VaultError) -> UInt32 {
        guard StoredHeader.readableFormatVersions.contains(writesFormatVersionForTesting) else {
            throw VaultError(.invalidArgument, "format version \(writesFormatVersionForTesting) cannot be written by this build")
        }
        return writesFormatVersionForTesting
    }
}
