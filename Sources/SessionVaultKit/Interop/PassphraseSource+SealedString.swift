extension PassphraseSource.Names {
    /// The passphrase of a sealed session string (`svs1.…`), kept apart from the vault passphrase:
    /// `SESSION_VAULT_STRING_PASSPHRASE_FILE`, `SESSION_VAULT_STRING_PASSPHRASE`, the systemd
    /// credential `session-vault-string-passphrase`, or the terminal.
    ///
    /// A separate name lets a bot's environment hold the sealed string and its passphrase without
    /// also holding the vault file's passphrase (and the other way round).
    public static let sealedString = PassphraseSource.Names(
        variable: "SESSION_VAULT_STRING_PASSPHRASE",
        fileVariable: "SESSION_VAULT_STRING_PASSPHRASE_FILE",
        credential: "session-vault-string-passphrase",
        noun: "string passphrase"
    )
}
