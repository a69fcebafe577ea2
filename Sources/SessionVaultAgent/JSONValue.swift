import SessionVaultKit

/// One parsed JSON value of a request line (RFC 8259), restricted to what the protocol uses.
///
/// Strings are not copied out of the line: a string is the byte range of its contents in the
/// guarded line buffer, so that a base64 auth key can be decoded straight into guarded memory
/// (``JSONObject/secret(_:byteCount:)``) and never exists as a Swift `String`. Numbers must be
/// integers in the signed 64-bit range: the protocol has no fractions.
indirect enum JSONValue {
    case null
    case bool(Bool)
    case integer(Int64)
    /// The contents' byte range in the line, and whether it contains a backslash escape.
    case string(Range<Int>, escaped: Bool)
    case array([JSONValue])
    /// Members in the order they appear; duplicate names are refused while parsing.
    case object([(name: String, value: JSONValue)])

    /// What a value is, for messages ("expected an integer, found a string").
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Parses one JSON text from bytes.
struct JSONParser {
    /// Nesting deeper than this is refused (the protocol needs five levels).
    static let maximumDepth = 32

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    /// A parser over `bytes`, which must stay valid while the parsed values are used.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Parses the whole input as one value (surrounding white space allowed).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(VaultError) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected data after the JSON value") }
        return value
    }

    /// The text of a string value, with escapes resolved; nil when it is not valid UTF-8.
    static func text(of range: Range<Int>, escaped: Bool, in bytes: UnsafeRawBufferPointer) -> String? {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard escaped else { return String(validating: raw, as: UTF8.self) }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5C)
            case UInt8(ascii: "/"): utf8.append(0x2F)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            default:  // u: validated by the parser
                var scalar = hexValue(raw, at: index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    let low = hexValue(raw, at: index + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                utf8.append(contentsOf: Array(String(Character(unicode)).utf8))
            }
        }
        return String(validating: utf8, as: UTF8.self)
    }

    /// The ASCII text of an escaped string, resolved into guarded memory (for secrets); nil when
    /// it is empty or an escape stands for a character outside ASCII.
    static func asciiText(of range: Range<Int>, in bytes: UnsafeRawBufferPointer) throws(VaultError) -> SecretBytes? {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        let resolved = try SecretBytes(count: raw.count)
        var length = 0
        var valid = true
        resolved.withUnsafeMutableBytes { out in
            var index = 0
            while index < raw.count {
                var byte = raw[index]
                index += 1
                if byte == UInt8(ascii: "\\") {
                    let escape = raw[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "\""): byte = escape
                    case UInt8(ascii: "u"):
                        let value = hexValue(raw, at: index)
                        index += 4
                        guard value < 0x80 else { valid = false; return }
                        byte = UInt8(value)
                    default:
                        valid = false
                        return
                    }
                }
                out[length] = byte
                length += 1
            }
        }
        guard valid, length > 0 else { return nil }
        return try resolved.withUnsafeBytes { (all) throws(VaultError) in try SecretBytes(copying: UnsafeRawBufferPointer(rebasing: all[0..<length])) }
    }

    private static func hexValue(_ raw: UnsafeRawBufferPointer, at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            value = value << 4 | UInt32(hexDigit(raw[index + offset])!)
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: - Grammar

    private mutating func parseValue(depth: Int) throws(VaultError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw failure("the JSON is nested deeper than \(Self.maximumDepth) levels") }
        guard position < bytes.count else { throw failure("the JSON ends early") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""):
            let (range, escaped) = try parseString()
            return .string(range, escaped: escaped)
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try parseInteger())
        default:
            throw failure("the JSON has an unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(VaultError) -> JSONValue {
        position += 1
        var members: [(name: String, value: JSONValue)] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("an object member name must be a string") }
            let (range, escaped) = try parseString()
            guard let name = Self.text(of: range, escaped: escaped, in: bytes), name.utf8.count <= 64 else {
                throw failure("an object member name is not valid UTF-8 or is longer than 64 bytes")
            }
            guard !members.contains(where: { $0.name == name }) else {
                throw failure("the member \"\(name)\" appears twice in one object")
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after a member name") }
            position += 1
            skipWhitespace()
            members.append((name, try parseValue(depth: depth + 1)))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(VaultError) -> JSONValue {
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    /// Validates a string and returns the range of its contents (without the quotes).
    private mutating func parseString() throws(VaultError) -> (Range<Int>, Bool) {
        position += 1
        let start = position
        var escaped = false
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                let range = start..<position
                position += 1
                return (range, escaped)
            case UInt8(ascii: "\\"):
                escaped = true
                guard position + 1 < bytes.count else { throw failure("the JSON ends inside a string") }
                let escape = bytes[position + 1]
                if escape == UInt8(ascii: "u") {
                    let high = try unicodeEscape(at: position + 2)
                    position += 6
                    if (0xD800..<0xDC00).contains(high) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u"),
                            (0xDC00..<0xE000).contains(try unicodeEscape(at: position + 2))
                        else { throw failure("a string has an unpaired UTF-16 surrogate escape") }
                        position += 6
                    } else if (0xDC00..<0xE000).contains(high) {
                        throw failure("a string has an unpaired UTF-16 surrogate escape")
                    }
                } else {
                    guard "\"\\/bfnrt".utf8.contains(escape) else { throw failure("a string has an invalid escape") }
                    position += 2
                }
            case 0..<0x20:
                throw failure("a string contains a control character")
            default:
                position += 1
            }
        }
        throw failure("the JSON ends inside a string")
    }

    private func unicodeEscape(at index: Int) throws(VaultError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("the JSON ends inside a \\u escape") }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = Self.hexDigit(bytes[index + offset]) else { throw failure("a \\u escape is not hexadecimal") }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private mutating func parseInteger() throws(VaultError) -> Int64 {
        let negative = peek() == UInt8(ascii: "-")
        if negative { position += 1 }
        let start = position
        var magnitude: UInt64 = 0
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw failure("an integer is outside the signed 64-bit range") }
            magnitude = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0 else { throw failure("a number has no digits") }
        guard !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { throw failure("a number has a leading zero") }
        if let byte = peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            throw failure("numbers must be integers")
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw failure("an integer is outside the signed 64-bit range") }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw failure("an integer is outside the signed 64-bit range") }
        return Int64(magnitude)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(VaultError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw failure("the JSON ends early") }
        for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] {
            throw failure("the JSON has an unexpected character")
        }
        position += count
    }

    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    /// A parse error; names the offset, never the content (the line may hold a key).
    private func failure(_ reason: String) -> VaultError {
        VaultError(.invalidArgument, "the request is not valid JSON: \(reason) (at byte \(position))")
    }
}
