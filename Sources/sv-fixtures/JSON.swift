#if DEBUG
/// A JSON value with ordered object keys, printed byte-for-byte deterministically.
///
/// Objects keep their insertion order (the manifest reads top-down); numbers are integers only.
/// A container is printed on one line when that line stays within ``inlineWidth`` characters,
/// otherwise one member per line with two-space indentation. The output is pure ASCII.
indirect enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static let inlineWidth = 100

    static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.rendered() == rhs.rendered() }

    /// The document text, ending with a newline.
    func rendered() -> String {
        var out = ""
        write(into: &out, indent: 0)
        out += "\n"
        return out
    }

    private func write(into out: inout String, indent: Int) {
        switch self {
        case .array(let items) where !items.isEmpty:
            if let line = inline(), line.count + indent <= Self.inlineWidth {
                out += line
                return
            }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += String(repeating: " ", count: indent + 2)
                item.write(into: &out, indent: indent + 2)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .object(let members) where !members.isEmpty:
            if let line = inline(), line.count + indent <= Self.inlineWidth {
                out += line
                return
            }
            out += "{\n"
            for (index, member) in members.enumerated() {
                out += String(repeating: " ", count: indent + 2) + Self.quote(member.0) + ": "
                member.1.write(into: &out, indent: indent + 2)
                out += index == members.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        default:
            out += inline() ?? ""
        }
    }

    /// The one-line form, or nil when it would exceed the width anyway.
    private func inline() -> String? {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .uint(let value): return String(value)
        case .string(let value): return Self.quote(value)
        case .array(let items):
            var parts: [String] = []
            var length = 2
            for item in items {
                guard let part = item.inline() else { return nil }
                length += part.count + 2
                if length > Self.inlineWidth { return nil }
                parts.append(part)
            }
            return "[" + parts.joined(separator: ", ") + "]"
        case .object(let members):
            var parts: [String] = []
            var length = 2
            for (key, value) in members {
                guard let part = value.inline() else { return nil }
                let text = Self.quote(key) + ": " + part
                length += text.count + 2
                if length > Self.inlineWidth { return nil }
                parts.append(text)
            }
            return "{" + parts.joined(separator: ", ") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // Control characters and everything outside ASCII are escaped, so the documents are
                // pure ASCII and no editor can normalise a passphrase (NFC vs NFD) by accident.
                if scalar.value < 0x20 || scalar.value >= 0x7F {
                    for unit in String(scalar).utf16 {
                        let hex = String(unit, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension JSON {
    /// Lower-case hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> JSON { .string(Hex.encode(bytes)) }

    static func optional(_ value: JSON?) -> JSON { value ?? .null }
}

/// Lower-case hexadecimal.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
#endif
