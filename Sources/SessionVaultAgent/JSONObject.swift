import SessionVaultKit

/// Typed, strict access to the members of one JSON object of a request.
///
/// Every member must be read by the decoder: ``finish()`` refuses members nobody asked for, so a
/// misspelt parameter is an error instead of being silently ignored. Messages name the member's
/// path (`changes.peers[2].kind`), never its value: a request line may hold an auth key.
struct JSONObject {
    /// Where the object sits in the request, e.g. `changes.data_centers`.
    let path: String
    private let members: [(name: String, value: JSONValue)]
    /// The line the object was parsed from.
    let bytes: UnsafeRawBufferPointer
    private var read: Set<String> = []

    /// Wraps `value`, which must be an object.
    init(_ value: JSONValue, path: String, in bytes: UnsafeRawBufferPointer) throws(VaultError) {
        guard case .object(let members) = value else {
            throw VaultError(.invalidArgument, "\(path.isEmpty ? "the request" : path) must be an object, not \(value.typeName)")
        }
        self.path = path
        self.members = members
        self.bytes = bytes
    }

    /// The path of a member, for messages.
    func path(of name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The raw member: nil when absent, `.null` when explicitly null.
    mutating func member(_ name: String) -> JSONValue? {
        read.insert(name)
        return members.first { $0.name == name }?.value
    }

    /// Refuses members that were never read.
    func finish() throws(VaultError) {
        if let unknown = members.first(where: { !read.contains($0.name) }) {
            throw VaultError(.invalidArgument, "\(path(of: unknown.name)) is not a known member")
        }
    }

    // MARK: - Typed members

    /// An integer member; nil when absent or null.
    mutating func integer(_ name: String) throws(VaultError) -> Int64? {
        switch member(name) {
        case nil, .null?: return nil
        case .integer(let value)?: return value
        case let other?: throw mismatch(name, "an integer", other)
        }
    }

    /// A required integer member.
    mutating func requiredInteger(_ name: String) throws(VaultError) -> Int64 {
        guard let value = try integer(name) else { throw missing(name) }
        return value
    }

    /// A required integer that fits `Int32`.
    mutating func requiredInt32(_ name: String) throws(VaultError) -> Int32 {
        try int32(requiredInteger(name), name)
    }

    /// An optional integer that fits `Int32`.
    mutating func int32(_ name: String) throws(VaultError) -> Int32? {
        try integer(name).map { (value) throws(VaultError) in try int32(value, name) }
    }

    private func int32(_ value: Int64, _ name: String) throws(VaultError) -> Int32 {
        guard let narrow = Int32(exactly: value) else {
            throw VaultError(.invalidArgument, "\(path(of: name)) is outside the signed 32-bit range")
        }
        return narrow
    }

    /// A boolean member; nil when absent or null.
    mutating func bool(_ name: String) throws(VaultError) -> Bool? {
        switch member(name) {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw mismatch(name, "a boolean", other)
        }
    }

    /// A string member (escapes resolved, valid UTF-8, at most `maximumBytes`); nil when absent or null.
    mutating func string(_ name: String, maximumBytes: Int = 4096) throws(VaultError) -> String? {
        switch member(name) {
        case nil, .null?: return nil
        case .string(let range, let escaped)?:
            guard range.count <= maximumBytes * 6, let text = JSONParser.text(of: range, escaped: escaped, in: bytes),
                text.utf8.count <= maximumBytes
            else {
                throw VaultError(.invalidArgument, "\(path(of: name)) is not valid UTF-8 or is longer than \(maximumBytes) bytes")
            }
            return text
        case let other?: throw mismatch(name, "a string", other)
        }
    }

    /// A required string member.
    mutating func requiredString(_ name: String, maximumBytes: Int = 4096) throws(VaultError) -> String {
        guard let value = try string(name, maximumBytes: maximumBytes) else { throw missing(name) }
        return value
    }

    /// A base64 (RFC 4648 §4, padded) member decoded straight into guarded memory; it must decode to
    /// exactly `byteCount` bytes. Nil when absent or null. The text is never copied into a `String`.
    mutating func secret(_ name: String, byteCount: Int) throws(VaultError) -> SecretBytes? {
        switch member(name) {
        case nil, .null?: return nil
        case .string(let range, let escaped)?:
            let decoded: SecretBytes?
            if escaped {
                // Some encoders write `/` as `\/`: resolve escapes inside guarded memory first.
                guard let text = try JSONParser.asciiText(of: range, in: bytes) else {
                    throw VaultError(.invalidArgument, "\(path(of: name)) must be standard padded base64 of \(byteCount) bytes")
                }
                decoded = try text.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.decode(raw, padding: .standard) }
            } else {
                decoded = range.isEmpty ? nil : try GuardedBase64.decode(UnsafeRawBufferPointer(rebasing: bytes[range]), padding: .standard)
            }
            guard let decoded, decoded.count == byteCount else {
                throw VaultError(.invalidArgument, "\(path(of: name)) must be standard padded base64 of \(byteCount) bytes")
            }
            return decoded
        case let other?: throw mismatch(name, "a base64 string", other)
        }
    }

    /// A nested object member; nil when absent or null.
    mutating func object(_ name: String) throws(VaultError) -> JSONObject? {
        switch member(name) {
        case nil, .null?: return nil
        case let value?: return try JSONObject(value, path: path(of: name), in: bytes)
        }
    }

    /// A required nested object member.
    mutating func requiredObject(_ name: String) throws(VaultError) -> JSONObject {
        guard let value = try object(name) else { throw missing(name) }
        return value
    }

    /// An array member's elements with their paths; nil when absent or null.
    mutating func array(_ name: String) throws(VaultError) -> [(path: String, value: JSONValue)]? {
        switch member(name) {
        case nil, .null?: return nil
        case .array(let elements)?:
            let base = path(of: name)
            return elements.enumerated().map { ("\(base)[\($0.offset)]", $0.element) }
        case let other?: throw mismatch(name, "an array", other)
        }
    }

    /// An array of objects.
    mutating func objects(_ name: String) throws(VaultError) -> [JSONObject]? {
        guard let elements = try array(name) else { return nil }
        var objects: [JSONObject] = []
        for element in elements { objects.append(try JSONObject(element.value, path: element.path, in: bytes)) }
        return objects
    }

    /// An array of integers.
    mutating func integers(_ name: String) throws(VaultError) -> [Int64]? {
        guard let elements = try array(name) else { return nil }
        var values: [Int64] = []
        for element in elements {
            guard case .integer(let value) = element.value else {
                throw VaultError(.invalidArgument, "\(element.path) must be an integer, not \(element.value.typeName)")
            }
            values.append(value)
        }
        return values
    }

    private func missing(_ name: String) -> VaultError {
        VaultError(.invalidArgument, "\(path(of: name)) is required")
    }

    private func mismatch(_ name: String, _ expected: String, _ found: JSONValue) -> VaultError {
        VaultError(.invalidArgument, "\(path(of: name)) must be \(expected), not \(found.typeName)")
    }
}
