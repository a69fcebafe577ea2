import Foundation

/// The environment a spawned `session-vault` starts from: `PATH`, `HOME` and `LANG` only, so that
/// nothing of the test process (no `SESSION_VAULT_*`, no `CREDENTIALS_DIRECTORY`) is inherited.
package func minimalChildEnvironment() -> [String: String] {
    let parent = ProcessInfo.processInfo.environment
    return [
        "PATH": parent["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
        "HOME": parent["HOME"] ?? "/root",
        "LANG": "C.UTF-8",
    ]
}
