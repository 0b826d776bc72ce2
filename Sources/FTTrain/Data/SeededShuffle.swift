import FTCore

/// Shuffling and sampling that give the same result for the same seed on every machine and every
/// Swift version.
///
/// The standard library's `shuffle(using:)` and `Int.random(in:using:)` do not promise a stable
/// algorithm, so a toolchain upgrade could silently change a split; these are written out.
public enum SeededShuffle {
    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection, so unbiased).
    public static func index(below bound: Int, using rng: inout SeededRNG) -> Int {
        precondition(bound > 0, "bound must be positive")
        let n = UInt64(bound)
        var product = rng.next().multipliedFullWidth(by: n)
        if product.low < n {
            let threshold = (0 &- n) % n  // 2^64 mod n
            while product.low < threshold {
                product = rng.next().multipliedFullWidth(by: n)
            }
        }
        return Int(product.high)
    }

    /// Fisher–Yates shuffle of `array` in place (Durstenfeld's form: swap each slot from the end
    /// with a uniformly chosen slot at or before it).
    public static func shuffle<T>(_ array: inout [T], using rng: inout SeededRNG) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = index(below: i + 1, using: &rng)
            if i != j { array.swapAt(i, j) }
        }
    }
}
