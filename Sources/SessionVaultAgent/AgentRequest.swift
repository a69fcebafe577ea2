import SessionVaultKit

/// One decoded request line (docs/AGENT.md §3).
struct AgentRequest {
    /// What the request asks for.
    enum Operation {
        case hello(protocolVersion: Int64, client: String?)
        case load
        case save(Session)
        case write(VaultBatch)
        case peer(PeerQuery)
        case peers
        case close
        case delete
    }

    /// How `peer` looks a peer up.
    enum PeerQuery {
        case id(Int64)
        case username(String)
        case phone(String)
    }

    /// The names of every request, in the order `hello` lists them.
    static let operationNames = ["hello", "load", "save", "write", "peer", "peers", "close", "delete"]

    /// A request that could not be decoded, with its id when that much could be read.
    struct Failure: Error {
        var id: Int64?
        var error: VaultError
    }

    /// The client's request id, echoed in the answer.
    var id: Int64
    var operation: Operation

    /// Parses and decodes one line. On failure, also returns the request id when it could be read,
    /// so that the error answer can carry it.
    static func decode(_ line: UnsafeRawBufferPointer) -> Result<AgentRequest, Failure> {
        var id: Int64?
        do throws(VaultError) {
            var object = try JSONObject(try JSONParser.parse(line), path: "", in: line)
            id = try? object.integer("id")
            guard let requestID = try object.integer("id") else { throw VaultError(.invalidArgument, "id is required") }
            let name = try object.requiredString("op", maximumBytes: 32)
            let operation: Operation
            switch name {
            case "hello":
                operation = .hello(protocolVersion: try object.requiredInteger("protocol"), client: try object.string("client", maximumBytes: 200))
            case "load": operation = .load
            case "save": operation = .save(try AgentModelCoding.session(try object.requiredObject("session")))
            case "write": operation = .write(try AgentModelCoding.batch(try object.requiredObject("changes")))
            case "peer": operation = .peer(try peerQuery(&object))
            case "peers": operation = .peers
            case "close": operation = .close
            case "delete": operation = .delete
            default:
                throw VaultError(.invalidArgument, "op \"\(name)\" is not a request this agent knows (\(operationNames.joined(separator: ", ")))")
            }
            try object.finish()
            return .success(AgentRequest(id: requestID, operation: operation))
        } catch {
            return .failure(Failure(id: id, error: error))
        }
    }

    private static func peerQuery(_ object: inout JSONObject) throws(VaultError) -> PeerQuery {
        let by = try object.requiredString("by", maximumBytes: 16)
        switch by {
        case "id": return .id(try object.requiredInteger("value"))
        case "username": return .username(try object.requiredString("value", maximumBytes: 1024))
        case "phone": return .phone(try object.requiredString("value", maximumBytes: 1024))
        default: throw VaultError(.invalidArgument, "by must be id, username or phone")
        }
    }
}
