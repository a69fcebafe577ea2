import SessionVaultKit

/// A JSON value the agent writes. Auth keys are a case of their own: they are base64-encoded from
/// guarded memory straight into the guarded answer buffer, never through a `String`.
indirect enum JSONOutput {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([JSONOutput])
    /// Members in the order given.
    case object([(String, JSONOutput)])
    /// An auth key, written as standard padded base64.
    case authKey(AuthKey)

    /// `.null` for nil, else `transform(value)`.
    static func optional<T>(_ value: T?, _ transform: (T) -> JSONOutput) -> JSONOutput {
        value.map(transform) ?? .null
    }

    /// Appends the compact JSON text of this value to `buffer`.
    func write(into buffer: inout GuardedByteBuffer) throws(VaultError) {
        switch self {
        case .null: try buffer.append("null")
        case .bool(let value): try buffer.append(value ? "true" : "false")
        case .integer(let value): try buffer.append(String(value))
        case .string(let text): try Self.writeString(text, into: &buffer)
        case .array(let elements):
            try buffer.append(byte: UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { try buffer.append(byte: UInt8(ascii: ",")) }
                try element.write(into: &buffer)
            }
            try buffer.append(byte: UInt8(ascii: "]"))
        case .object(let members):
            try buffer.append(byte: UInt8(ascii: "{"))
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { try buffer.append(byte: UInt8(ascii: ",")) }
                try Self.writeString(name, into: &buffer)
                try buffer.append(byte: UInt8(ascii: ":"))
                try value.write(into: &buffer)
            }
            try buffer.append(byte: UInt8(ascii: "}"))
        case .authKey(let key):
            let encoded = try key.withUnsafeBytes { (raw) throws(VaultError) in try GuardedBase64.encode(raw, padding: .standard) }
            try buffer.append(byte: UInt8(ascii: "\""))
            try encoded.withUnsafeBytes { (raw) throws(VaultError) in try buffer.append(raw) }
            try buffer.append(byte: UInt8(ascii: "\""))
        }
    }

    /// A JSON string: `"`, `\` and control characters escaped; everything else as UTF-8.
    private static func writeString(_ text: String, into buffer: inout GuardedByteBuffer) throws(VaultError) {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        escaped += "\""
        try buffer.append(escaped)
    }
}
