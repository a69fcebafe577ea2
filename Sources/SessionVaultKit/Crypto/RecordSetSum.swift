/// The manifest's keyed set hash: the sum, modulo 2^256, of BLAKE2b-256(K_set, tag) over every record
/// except the manifest, each read as a little-endian 256-bit integer.
///
/// Adding or removing one record updates the sum in O(1), so the manifest changes only when the
/// record set does, never on a plain update. Without the data key nobody can compute an element,
/// so a deleted, inserted or resurrected row changes the sum in a way an attacker cannot repair.
struct RecordSetSum: Equatable {
    private(set) var bytes: [UInt8]

    init() { bytes = [UInt8](repeating: 0, count: 32) }

    init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    mutating func add(_ element: [UInt8]) {
        var carry: UInt16 = 0
        for i in 0..<32 {
            let total = UInt16(bytes[i]) + UInt16(element[i]) + carry
            bytes[i] = UInt8(truncatingIfNeeded: total)
            carry = total >> 8
        }
    }

    mutating func subtract(_ element: [UInt8]) {
        var borrow: Int16 = 0
        for i in 0..<32 {
            var difference = Int16(bytes[i]) - Int16(element[i]) - borrow
            if difference < 0 {
                difference += 256
                borrow = 1
            } else {
                borrow = 0
            }
            bytes[i] = UInt8(difference)
        }
    }
}
