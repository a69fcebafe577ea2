extension PassphraseSource.Names {
    /// The local passcode of a Telegram Desktop `tdata` folder being imported:
    /// `SESSION_VAULT_TDATA_PASSCODE_FILE`, `SESSION_VAULT_TDATA_PASSCODE`, the systemd credential
    /// `session-vault-tdata-passcode`, or the terminal. Never the command line.
    public static let tdataPasscode = PassphraseSource.Names(
        variable: "SESSION_VAULT_TDATA_PASSCODE",
        fileVariable: "SESSION_VAULT_TDATA_PASSCODE_FILE",
        credential: "session-vault-tdata-passcode",
        noun: "tdata local passcode"
    )
}
