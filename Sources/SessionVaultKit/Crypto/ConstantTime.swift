internal import CSodium

/// Constant-time equality of two byte arrays of the same length (`sodium_memcmp`).
/// Arrays of different lengths are unequal (the length is not secret).
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    if lhs.isEmpty { return true }
    return lhs.withUnsafeBytes { a in
        rhs.withUnsafeBytes { b in sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
    }
}
