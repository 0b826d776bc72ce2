import Crypto

/// A weighted split of traffic between the arms of an A/B test (each arm is a served model name).
///
/// Requests with a key (a client id header) are *sticky*: the key is hashed to a position in
/// [0, 1) and the position picks the arm whose slice of the cumulative weights holds it, so one
/// client sees one arm for as long as the split is unchanged — across requests, threads, restarts
/// and machines. Requests without a key take `arm(uniform:)` with a fresh random draw.
///
/// The hash is SHA-256, not Swift's `Hasher` (seeded per process, so it would move clients between
/// arms at every restart) and not FNV-1a (its top bits barely depend on the last byte, so ids
/// like `user-1`…`user-9` would bunch into one arm):
///
///     position(key) = UInt64(big-endian bytes 0..<8 of SHA-256(UTF-8(salt + key))) >> 11 / 2^53
///
/// i.e. the top 53 bits of the digest as a Double in [0, 1), exactly representable. The `salt`
/// (the route name in the server) makes two A/B tests split the same clients independently.
///
/// Arms are kept sorted by name, so a split read from a YAML mapping (a dictionary, whose order
/// varies from process to process) maps each key to the same arm every time.
public struct ABSplit: Equatable, Sendable {
    /// One arm: its name and its share of the traffic (the weights normalised to sum to 1).
    public struct Arm: Equatable, Sendable {
        public let name: String
        public let share: Double
    }

    /// The arms in name order, with normalised shares.
    public let arms: [Arm]
    /// Prefixed to every key before hashing (see the type's documentation).
    public let salt: String
    /// Cumulative upper bounds of the arms' slices of [0, 1); the last is forced to 1 so rounding
    /// in the normalisation can never leave a position without an arm.
    private let bounds: [Double]

    /// A split of the given arms by weight.
    ///
    /// - Parameters:
    ///   - weights: arm name → weight; any positive finite scale (`0.9, 0.1` or `9, 1`).
    ///   - salt: prefixed to every key before hashing; the server passes the route name.
    /// - Throws: ``ABTestingError`` for fewer than two arms, an empty or repeated name, or a weight
    ///   that is not positive and finite.
    public init(weights: [(name: String, weight: Double)], salt: String = "") throws(ABTestingError) {
        guard weights.count >= 2 else { throw .tooFewArms(weights.count) }
        var seen = Set<String>()
        for (name, weight) in weights {
            guard !name.isEmpty else { throw .emptyArmName }
            guard seen.insert(name).inserted else { throw .duplicateArm(name) }
            guard weight.isFinite, weight > 0 else { throw .badWeight(arm: name, weight: weight) }
        }
        let sorted = weights.sorted { $0.name < $1.name }
        let total = sorted.reduce(0) { $0 + $1.weight }
        guard total.isFinite else { throw .badWeight(arm: sorted.last!.name, weight: sorted.last!.weight) }
        arms = sorted.map { Arm(name: $0.name, share: $0.weight / total) }
        var running = 0.0
        var bounds = arms.map { arm -> Double in
            running += arm.share
            return running
        }
        bounds[bounds.count - 1] = 1
        self.bounds = bounds
        self.salt = salt
    }

    /// A split from a dictionary of weights (a YAML `ab:` mapping); see ``init(weights:salt:)``.
    public init(weights: [String: Double], salt: String = "") throws(ABTestingError) {
        try self.init(weights: weights.map { (name: $0.key, weight: $0.value) }, salt: salt)
    }

    /// The arm of a sticky key: the same key gives the same arm in every process.
    public func arm(forKey key: String) -> String {
        arm(at: Self.position(of: salt + key))
    }

    /// The arm of a request without a key, from a uniform draw `u` in [0, 1) that the caller makes
    /// (so tests can pass fixed draws).
    public func arm(uniform u: Double) throws(ABTestingError) -> String {
        guard u >= 0, u < 1 else { throw .uniformOutOfRange(u) }
        return arm(at: u)
    }

    /// The arm of a request without a key, drawn from `generator`.
    public func arm(using generator: inout some RandomNumberGenerator) -> String {
        arm(at: Double.random(in: 0..<1, using: &generator))
    }

    /// The arm whose slice `[bounds[i-1], bounds[i])` holds `position`.
    private func arm(at position: Double) -> String {
        // Two or a few arms: a linear scan beats a binary search and reads plainly.
        for (index, bound) in bounds.enumerated() where position < bound {
            return arms[index].name
        }
        return arms[arms.count - 1].name
    }

    /// The position in [0, 1) of a string: the top 53 bits of its SHA-256 digest over 2^53.
    public static func position(of text: String) -> Double {
        let digest = SHA256.hash(data: Array(text.utf8))
        var top: UInt64 = 0
        for byte in digest.prefix(8) { top = top << 8 | UInt64(byte) }
        return Double(top >> 11) / 9_007_199_254_740_992  // 2^53
    }
}
