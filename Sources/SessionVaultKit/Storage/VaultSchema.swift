/// A vault's SQLite schema is part of its format (FORMAT.md §3): exactly the three tables of
/// ``SQLiteRecordStore``'s `schema`, declared as written there, and no other object — no trigger,
/// view, index or table. A planted trigger could silently drop every later save or copy rows aside
/// (old keyslots and ciphertexts surviving a passphrase change or a rotation); an opener refuses
/// any other schema as `tampered` before it reads a row.
enum VaultSchema {
    /// One object of `sqlite_schema`.
    struct Object: Equatable {
        var type: String
        var name: String
        var tableName: String
        /// The `sql` column in ``canonical(_:)`` form.
        var canonicalSQL: String
    }

    /// The objects the format defines: the three tables of `SQLiteRecordStore.schema`. None of them
    /// makes an automatic index (`INTEGER PRIMARY KEY` is the rowid; a `WITHOUT ROWID` table's
    /// primary key is the table itself).
    static let expected: [Object] = SQLiteRecordStore.schema.split(separator: ";").compactMap { statement in
        let words = statement.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "(" })
        guard words.count >= 3 else { return nil }
        let name = String(words[2])
        return Object(type: "table", name: name, tableName: name, canonicalSQL: canonical(String(statement)))
    }

    /// The comparison form of a `CREATE` statement (FORMAT.md §3): `--` comments removed up to the
    /// end of their line; ASCII letters lower-cased; every run of whitespace (space, tab, LF, CR, FF)
    /// removed when it is at either end or next to `(`, `)` or `,`, and otherwise replaced by one
    /// space. The format's declarations contain no quotes, so no string literal or quoted
    /// identifier can be reshaped into them.
    static func canonical(_ sql: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(sql.utf8.count)
        var pendingSpace = false
        var inComment = false
        var previous: UInt8 = 0
        let bytes = Array(sql.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if inComment {
                if byte == 0x0A { inComment = false; pendingSpace = true }
                continue
            }
            if byte == UInt8(ascii: "-"), index < bytes.count, bytes[index] == UInt8(ascii: "-") {
                inComment = true
                index += 1
                continue
            }
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C {
                pendingSpace = true
                continue
            }
            let isPunctuation = byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: ",")
            let previousIsPunctuation =
                previous == UInt8(ascii: "(") || previous == UInt8(ascii: ")") || previous == UInt8(ascii: ",")
            if pendingSpace, !output.isEmpty, !isPunctuation, !previousIsPunctuation {
                output.append(0x20)
            }
            pendingSpace = false
            let folded = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
            output.append(folded)
            previous = folded
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Refuses (`tampered`) any schema but ``expected``: an object the format does not define, or one
    /// of its tables declared otherwise. `rows` are `(type, name, tbl_name, sql)` of `sqlite_schema`.
    static func check(_ rows: [(type: String?, name: String?, tableName: String?, sql: String?)], path: String) throws(VaultError) {
        var unseen = Set(expected.map(\.name))
        for row in rows {
            let type = row.type ?? "object"
            let name = row.name ?? ""
            guard let wanted = expected.first(where: { $0.name == name }), type == wanted.type else {
                let on = row.tableName.map { $0 == name ? "" : " on \(quoted($0))" } ?? ""
                throw VaultError(
                    .tampered,
                    "\(path) holds \(printable(type, limit: 16)) \(quoted(name))\(on), which the vault format does not define "
                        + "(a vault holds only the tables sv_header, sv_keyslot and sv_record)"
                )
            }
            guard row.tableName == wanted.tableName, canonical(row.sql ?? "") == wanted.canonicalSQL else {
                throw VaultError(.tampered, "\(path): the declaration of table \(name) is not the one the vault format defines")
            }
            unseen.remove(name)
        }
        if !unseen.isEmpty {
            // checkIdentity refuses missing tables (as `corrupt`) before this runs.
            throw VaultError(.corrupt, "\(path) lacks vault tables \(unseen.sorted())")
        }
    }

    /// A name taken from the file, for an error message: at most `limit` characters, anything but
    /// printable ASCII shown as `?`.
    static func printable(_ text: String, limit: Int = 64) -> String {
        var shown = String(text.unicodeScalars.prefix(limit).map { (0x20..<0x7F).contains($0.value) ? Character($0) : "?" })
        if text.unicodeScalars.count > limit { shown += "…" }
        return shown
    }

    /// ``printable(_:limit:)`` in single quotes.
    static func quoted(_ text: String) -> String { "'\(printable(text))'" }
}
