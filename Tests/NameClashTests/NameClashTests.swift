import SessionVaultKit
import TelegramClientStandIn
import Testing

/// The library's module is not named like its main type, so its types stay reachable by their
/// module-qualified names next to a client library that exports `Session`, `DataCenter` and
/// `AuthKey` too (with a module named `SessionVault`, `SessionVault.Session` resolved to a member of
/// the actor and failed).
@Suite("Names next to a client library")
struct NameClashTests {
    @Test func qualifiedNamesResolveToEachModule() async throws {
        let clientSession = TelegramClientStandIn.Session(serverSalt: 7)
        let clientKey = TelegramClientStandIn.AuthKey(bytes: Array(repeating: 1, count: 256))
        let key = try clientKey.bytes.withUnsafeBytes { try SessionVaultKit.AuthKey(copying: $0) }
        var session = SessionVaultKit.Session()
        session.dataCenters = [SessionVaultKit.DataCenter(id: Int32(TelegramClientStandIn.DataCenter(id: 2).id), authKey: key)]
        let vault = try await SessionVault.inMemory()
        try await vault.save(session)
        let loaded: SessionVaultKit.Session? = try await vault.load()
        #expect(loaded?.dataCenters.first?.authKey == key)
        #expect(clientSession.serverSalt == 7)
        let configuration: SessionVault.Configuration = SessionVault.Configuration()
        #expect(configuration.mode == .openOrCreate)
        try await vault.close()
    }
}
