internal import CSodium
internal import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a passphrase (or a recovery key) comes from. Never the command line.
///
/// ``locate(_:allowTerminal:)`` applies the documented order, and exactly one source must apply:
/// 1. `<NAME>_FILE` — a file holding the secret (Docker secrets; one trailing newline is dropped);
/// 2. `<NAME>` — the secret itself in the environment;
/// 3. `<NAME>_FD` — an inherited file descriptor, read to end of file and closed: the exact bytes,
///    nothing dropped (a parent process hands the secret over a pipe, never argv or environment);
/// 4. `$CREDENTIALS_DIRECTORY/<credential>` — a systemd `LoadCredential=`;
/// 5. the terminal, without echo, when standard input is a terminal.
///
/// Setting more than one of `<NAME>`, `<NAME>_FILE` and `<NAME>_FD` is an error. After an environment variable is read, the
/// bytes that `getenv` returned are overwritten and the variable is unset, so neither
/// `/proc/<pid>/environ` nor child processes see it. In `session-vault` (and in any executable that
/// links the `SessionVaultEarlyHardening` module, or calls
/// ``ProcessHardening/takeSecretsFromEnvironment()``) that happens before `main`: the value waits in
/// locked memory, and `<NAME>` counts as set.
public enum PassphraseSource: Sendable, Equatable, CustomStringConvertible {
    /// A file whose content is the secret.
    case file(path: String)
    /// An environment variable holding the secret.
    case environment(variable: String)
    /// An inherited file descriptor (a pipe from the parent process), read to end of file and closed.
    case fileDescriptor(Int32)
    /// A systemd credential file.
    case systemdCredential(path: String)
    /// An interactive prompt on the controlling terminal.
    case terminal

    /// The names under which one kind of secret is looked up.
    public struct Names: Sendable, Hashable {
        /// The environment variable holding the secret, e.g. `SESSION_VAULT_PASSPHRASE`.
        public var variable: String
        /// The variable naming a file that holds the secret, e.g. `SESSION_VAULT_PASSPHRASE_FILE`.
        public var fileVariable: String
        /// The systemd credential name, e.g. `session-vault-passphrase`.
        public var credential: String
        /// The variable naming an inherited file descriptor, e.g. `SESSION_VAULT_PASSPHRASE_FD`.
        public var descriptorVariable: String { variable + "_FD" }
        /// What the prompt calls the secret, e.g. `passphrase`.
        public var noun: String

        /// Creates a set of names.
        public init(variable: String, fileVariable: String, credential: String, noun: String) {
            self.variable = variable
            self.fileVariable = fileVariable
            self.credential = credential
            self.noun = noun
        }

        /// The vault passphrase.
        public static let passphrase = Names(
            variable: "SESSION_VAULT_PASSPHRASE",
            fileVariable: "SESSION_VAULT_PASSPHRASE_FILE",
            credential: "session-vault-passphrase",
            noun: "passphrase"
        )
        /// The new passphrase of a passphrase change.
        public static let newPassphrase = Names(
            variable: "SESSION_VAULT_NEW_PASSPHRASE",
            fileVariable: "SESSION_VAULT_NEW_PASSPHRASE_FILE",
            credential: "session-vault-new-passphrase",
            noun: "new passphrase"
        )
        /// A recovery key.
        public static let recoveryKey = Names(
            variable: "SESSION_VAULT_RECOVERY_KEY",
            fileVariable: "SESSION_VAULT_RECOVERY_KEY_FILE",
            credential: "session-vault-recovery-key",
            noun: "recovery key"
        )
    }

    /// The largest secret accepted from any source.
    public static let maximumByteCount = 4096

    /// Finds the one source that applies.
    /// - Throws: ``VaultError/Code/invalidArgument`` when both variables are set, or when no source
    ///   applies (no variable, no credential, and no terminal or `allowTerminal` false).
    public static func locate(_ names: Names = .passphrase, allowTerminal: Bool = true) throws(VaultError) -> PassphraseSource {
        let file = try environmentValue(names.fileVariable)
        let direct = isEnvironmentVariableSet(names.variable)
        let descriptor = try environmentValue(names.descriptorVariable)
        let set = [
            direct ? names.variable : nil, file.map { _ in names.fileVariable }, descriptor.map { _ in names.descriptorVariable },
        ].compactMap { $0 }
        if set.count > 1 {
            let listed = set.dropLast().joined(separator: ", ") + " and " + set.last!
            throw VaultError(
                .invalidArgument,
                "\(listed) are \(set.count == 2 ? "both" : "all") set; they are mutually exclusive"
            )
        }
        if let file {
            guard !file.isEmpty else { throw VaultError(.invalidArgument, "\(names.fileVariable) is set but empty") }
            return .file(path: file)
        }
        if direct { return .environment(variable: names.variable) }
        if let descriptor {
            // Standard input, output and error are never a secret's pipe (and `serve` speaks on them).
            guard descriptor.count <= 9, descriptor.allSatisfy(\.isASCII), let number = Int32(descriptor), number > 2 else {
                throw VaultError(
                    .invalidArgument,
                    "\(names.descriptorVariable) must be the number of an inherited file descriptor above 2"
                )
            }
            return .fileDescriptor(number)
        }
        if let directory = try environmentValue("CREDENTIALS_DIRECTORY"), !directory.isEmpty {
            let path = directory + "/" + names.credential
            if access(path, F_OK) == 0 { return .systemdCredential(path: path) }
        }
        if allowTerminal && isatty(STDIN_FILENO) == 1 { return .terminal }
        throw VaultError(
            .invalidArgument,
            "no \(names.noun) given: set \(names.fileVariable), \(names.variable) or \(names.descriptorVariable), provide the systemd credential "
                + "'\(names.credential)', or run on a terminal"
        )
    }

    /// Reads the secret from this source into guarded memory.
    /// - Parameters:
    ///   - names: Used for the prompt text and to scrub the `_FILE` variable after use.
    ///   - confirm: For the terminal: ask twice and require the same answer (creating or changing).
    /// - Throws: ``VaultError/Code/invalidArgument`` for an empty secret, a mismatch or an unreadable source.
    public func read(_ names: Names = .passphrase, confirm: Bool = false) throws(VaultError) -> SecretBytes {
        let secret: SecretBytes
        switch self {
        case .file(let path):
            secret = try Self.readFile(path, what: names.fileVariable, checkingOwnership: true)
            unsetenv(names.fileVariable)
        case .fileDescriptor(let descriptor):
            unsetenv(names.descriptorVariable)
            guard fcntl(descriptor, F_GETFD) >= 0 else {
                throw VaultError(.invalidArgument, "\(names.descriptorVariable) names descriptor \(descriptor), which is not open")
            }
            defer { close(descriptor) }
            secret = try Self.readAll(descriptor, what: "\(names.descriptorVariable) (descriptor \(descriptor))")
        case .systemdCredential(let path):
            secret = try Self.readFile(path, what: "systemd credential \(names.credential)")
        case .environment(let variable):
            secret = try Self.takeEnvironmentVariable(variable)
        case .terminal:
            let first = try TerminalPrompt.readSecret(prompt: "Enter \(names.noun): ")
            if confirm {
                let second = try TerminalPrompt.readSecret(prompt: "Repeat \(names.noun): ")
                guard first.isEqual(to: second) else {
                    throw VaultError(.invalidArgument, "the two \(names.noun) entries differ")
                }
            }
            secret = first
        }
        guard secret.count > 0 else { throw VaultError(.invalidArgument, "the \(names.noun) from \(self) is empty") }
        return secret
    }

    /// Locates the source and reads a ``Passphrase`` from it (`allowTerminal` false: never prompt).
    public static func readPassphrase(
        _ names: Names = .passphrase,
        confirm: Bool = false,
        allowTerminal: Bool = true
    ) throws(VaultError) -> Passphrase {
        try Passphrase(owning: try locate(names, allowTerminal: allowTerminal).read(names, confirm: confirm))
    }

    /// Where the secret came from, without the secret: `file /run/secrets/x`, `environment SESSION_VAULT_PASSPHRASE`, ….
    public var description: String {
        switch self {
        case .file(let path): "file \(path)"
        case .environment(let variable): "environment variable \(variable)"
        case .fileDescriptor(let descriptor): "file descriptor \(descriptor)"
        case .systemdCredential(let path): "systemd credential \(path)"
        case .terminal: "terminal"
        }
    }

    // MARK: - Reading

    /// A variable naming a path or descriptor; one that is not UTF-8 is refused (decoding it would
    /// silently name another file).
    private static func environmentValue(_ name: String) throws(VaultError) -> String? {
        guard let value = getenv(name) else { return nil }
        guard let text = String(validatingCString: value) else {
            throw VaultError(.invalidArgument, "\(name) is not valid UTF-8; only UTF-8 paths are accepted")
        }
        return text
    }

    /// Whether the secret variable `name` is set: in the environment, or already moved out of it by
    /// the early hardening (``ProcessHardening/takeSecretsFromEnvironment()``).
    public static func isEnvironmentVariableSet(_ name: String) -> Bool {
        getenv(name) != nil || ProcessHardening.hasStashedSecret(name)
    }

    /// Copies the variable into guarded memory, overwrites the original bytes, and unsets it; or takes
    /// it from the stash of the early hardening, which then wipes its copy.
    package static func takeEnvironmentVariable(_ name: String) throws(VaultError) -> SecretBytes {
        if let stashed = try ProcessHardening.stashedSecret(name, limit: maximumByteCount, forget: true) {
            return stashed
        }
        guard let value = getenv(name) else { throw VaultError(.invalidArgument, "\(name) is not set") }
        let length = strlen(value)
        guard length <= maximumByteCount else {
            throw VaultError(.invalidArgument, "\(name) is longer than \(maximumByteCount) bytes")
        }
        let secret = try SecretBytes(copying: UnsafeRawBufferPointer(start: value, count: length))
        // getenv points into the environment block, which /proc/<pid>/environ shows: wipe it there.
        sodium_memzero(value, length)
        unsetenv(name)
        return secret
    }

    /// Reads a whole (small) file into guarded memory and drops one trailing newline (`\n` or `\r\n`).
    /// - Parameter checkingOwnership: For a file the user names (`<NAME>_FILE`), as OpenSSH does for
    ///   keys: refuse one owned by another user than this one or root, or writable by group or others
    ///   (whoever can write it chooses the secret); warn (one log line) when group or others may read it.
    static func readFile(_ path: String, what: String, checkingOwnership: Bool = false) throws(VaultError) -> SecretBytes {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystem.error(errno, "cannot read \(what) (\(path))") }
        defer { close(descriptor) }
        if checkingOwnership { try checkOwnership(of: descriptor, path: path, what: what) }
        let buffer = try readAll(descriptor, what: "\(what) (\(path))")
        var length = buffer.count
        buffer.withUnsafeBytes { raw in
            if length > 0 && raw[length - 1] == 10 {
                length -= 1
                if length > 0 && raw[length - 1] == 13 { length -= 1 }
            }
        }
        guard length < buffer.count else { return buffer }
        return try buffer.withUnsafeBytes { (raw) throws(VaultError) in
            try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
    }

    /// The checks of `readFile(_:what:checkingOwnership:)` on the opened file.
    static func checkOwnership(of descriptor: Int32, path: String, what: String) throws(VaultError) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileSystem.error(errno, "cannot inspect \(what) (\(path))") }
        let owner = status.st_uid
        guard owner == geteuid() || owner == 0 else {
            throw VaultError(
                .invalidArgument,
                "\(what) (\(path)) is owned by uid \(owner), not by this user (uid \(geteuid())) or root; refusing it"
            )
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o022 == 0 else {
            throw VaultError(
                .invalidArgument,
                "\(what) (\(path)) is writable by \(mode & 0o020 != 0 ? "its group" : "others") (mode \(String(mode, radix: 8))); "
                    + "refusing it (chmod go-w)"
            )
        }
        if mode & 0o044 != 0 {
            Logger(label: "SessionVault").warning(
                "\(what) (\(path)) is readable by \(mode & 0o040 != 0 ? "its group" : "others") (mode \(String(mode, radix: 8))); chmod 600 it"
            )
        }
    }

    /// Reads an open descriptor to end of file into guarded memory: the exact bytes, nothing dropped.
    /// - Throws: ``VaultError/Code/invalidArgument`` past ``maximumByteCount`` bytes.
    static func readAll(_ descriptor: Int32, what: String) throws(VaultError) -> SecretBytes {
        let (bytes, isTruncated) = try FileDescriptorIO.readSecret(from: descriptor, limit: maximumByteCount, failure: "cannot read \(what)")
        guard !isTruncated else {
            throw VaultError(.invalidArgument, "\(what) is larger than \(maximumByteCount) bytes")
        }
        return bytes
    }
}
