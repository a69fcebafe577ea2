import Foundation
import Testing
import SessionVaultTestSupport

/// The output scan that every CLI test relies on must itself find keys in each printed form.
@Suite("Leak detector")
struct LeakDetectorTests {
    @Test func findsKeysPrintedAsHexBase64OrRawBytes() {
        let key = TestKeys.bytes(seed: 12)
        let hex = key.map { String(format: "%02x", $0) }.joined()
        let printed = [
            Array("key: \(hex)\n".utf8),
            Array("KEY: \(hex.uppercased())\n".utf8),
            Array("\"key\": \"\(Data(key).base64EncodedString())\"".utf8),
            Array("x".utf8) + Array(key[100..<140]) + Array("y".utf8),
        ]
        for output in printed {
            #expect(TestKeys.forbiddenForms.contains { contains(output, $0) })
        }
        #expect(!TestKeys.forbiddenForms.contains { contains(Array("auth_key_id -4242424242".utf8), $0) })
    }
}
