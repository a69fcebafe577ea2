/// A small JSON reader that works in place on a buffer in guarded memory: string values are byte
/// ranges of that buffer, never copied into a `String`, so an auth key in a JSON file (gotd's
/// session) is decoded straight from guarded memory into guarded memory. Object keys (field names,
/// no secret) are copied. Strings holding escapes are marked, so a caller can refuse them where a
/// secret is expected.
enum GuardedJSON {
    /// A parsed value. Strings and numbers are ranges into the parsed buffer.
    indirect enum Value {
        case object([(key: String, value: Value)])
        case array([Value])
        case string(Range<Int>, hasEscapes: Bool)
        case number(Range<Int>)
        case bool(Bool)
        case null

        /// The member `key` of an object (the last one, as Go's decoder takes duplicates).
        subscript(key: String) -> Value? {
            guard case .object(let members) = self else { return nil }
            return members.last { $0.key == key }?.value
        }
    }

    /// The deepest nesting accepted (gotd's session is 4 levels deep).
    static let maximumDepth = 16

    /// Parses all of `bytes` (surrounding whitespace allowed) or throws an error naming the offset.
    static func parse(_ bytes: UnsafeRawBufferPointer, what: String) throws(VaultError) -> Value {
        var parser = Parser(bytes: bytes, what: what)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.offset == bytes.count else { throw parser.failure("trailing characters") }
        return value
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let what: String
        var offset = 0

        init(bytes: UnsafeRawBufferPointer, what: String) {
            self.bytes = bytes
            self.what = what
        }

        func failure(_ reason: String) -> VaultError {
            VaultError(.invalidArgument, "\(what) is not valid JSON: \(reason) at byte \(offset + 1)")
        }

        mutating func skipSpace() {
            while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
        }

        mutating func expect(_ literal: String) throws(VaultError) {
            for byte in literal.utf8 {
                guard offset < bytes.count, bytes[offset] == byte else { throw failure("unexpected character") }
                offset += 1
            }
        }

        mutating func value(depth: Int) throws(VaultError) -> Value {
            guard depth <= GuardedJSON.maximumDepth else { throw failure("nesting too deep") }
            guard offset < bytes.count else { throw failure("unexpected end") }
            switch bytes[offset] {
            case UInt8(ascii: "{"):
                offset += 1
                var members: [(key: String, value: Value)] = []
                skipSpace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                    offset += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard case .string(let range, let escaped) = try string() else { throw failure("expected a name") }
                    guard !escaped else { throw failure("escaped characters in a name") }
                    let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard offset < bytes.count else { throw failure("unexpected end") }
                    if bytes[offset] == UInt8(ascii: ",") {
                        offset += 1
                        continue
                    }
                    try expect("}")
                    return .object(members)
                }
            case UInt8(ascii: "["):
                offset += 1
                var items: [Value] = []
                skipSpace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard offset < bytes.count else { throw failure("unexpected end") }
                    if bytes[offset] == UInt8(ascii: ",") {
                        offset += 1
                        continue
                    }
                    try expect("]")
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return try string()
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                let start = offset
                if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
                while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset])
                    || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(bytes[offset])
                {
                    offset += 1
                }
                guard offset > start else { throw failure("unexpected character") }
                return .number(start..<offset)
            }
        }

        mutating func string() throws(VaultError) -> Value {
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected a string") }
            offset += 1
            let start = offset
            var escaped = false
            while offset < bytes.count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\"") {
                    offset += 1
                    return .string(start..<(offset - 1), hasEscapes: escaped)
                }
                if byte < 0x20 { throw failure("a control character in a string") }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    offset += 1
                }
                offset += 1
            }
            throw failure("an unterminated string")
        }
    }

    /// The text of a string value that holds no secret (escapes are refused by the caller's check).
    static func text(_ value: Value?, in bytes: UnsafeRawBufferPointer) -> String? {
        guard case .string(let range, false) = value else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// A whole number value.
    static func integer(_ value: Value?, in bytes: UnsafeRawBufferPointer) -> Int64? {
        guard case .number(let range) = value else { return nil }
        return Int64(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    /// A boolean value.
    static func bool(_ value: Value?) -> Bool? {
        guard case .bool(let flag) = value else { return nil }
        return flag
    }
}
