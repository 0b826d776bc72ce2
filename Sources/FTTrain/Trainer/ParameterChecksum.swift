/// A fast checksum of a float buffer's exact bits, for verifying that data-parallel ranks still
/// hold identical parameters (`ddp_parameter_check_steps`): any differing bit changes it with
/// overwhelming probability. Four independent 64-bit lanes keep it near memory speed
/// (about 10 ms for MiniLM's 91 MB), where byte-wise FNV would take ten times longer.
public enum ParameterChecksum {
    public static func of(_ buffer: UnsafeMutableBufferPointer<Float>) -> UInt64 {
        of(UnsafeBufferPointer(buffer))
    }

    public static func of(_ buffer: UnsafeBufferPointer<Float>) -> UInt64 {
        let prime: UInt64 = 0x9E37_79B9_7F4A_7C15
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (1, 2, 3, 4)
        let raw = UnsafeRawBufferPointer(buffer)
        let words = raw.count / 8
        var i = 0
        // Each lane mixes its own words: (h ^ w) · prime, an odd multiplier, so no bit is lost.
        while i + 4 <= words {
            lanes.0 = (lanes.0 ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* prime
            lanes.1 = (lanes.1 ^ raw.loadUnaligned(fromByteOffset: (i + 1) * 8, as: UInt64.self)) &* prime
            lanes.2 = (lanes.2 ^ raw.loadUnaligned(fromByteOffset: (i + 2) * 8, as: UInt64.self)) &* prime
            lanes.3 = (lanes.3 ^ raw.loadUnaligned(fromByteOffset: (i + 3) * 8, as: UInt64.self)) &* prime
            i += 4
        }
        var hash = lanes.0
        for lane in [lanes.1, lanes.2, lanes.3] { hash = (hash ^ (lane >> 29) ^ lane) &* prime }
        // The tail: remaining whole words, then a trailing float, and the length.
        while i < words {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* prime
            i += 1
        }
        if raw.count % 8 != 0 {
            hash = (hash ^ UInt64(raw.loadUnaligned(fromByteOffset: words * 8, as: UInt32.self))) &* prime
        }
        return (hash ^ UInt64(buffer.count) ^ (hash >> 31)) &* prime
    }
}
