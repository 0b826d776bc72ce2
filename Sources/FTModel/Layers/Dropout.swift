/// Inverted dropout (PyTorch's `nn.Dropout`): in training, each element is zeroed with
/// probability p and the survivors are scaled by 1 / (1 − p).
///
/// The keep/drop decision is a counter-based hash of (key, element index) rather than a stream
/// of draws, so:
/// - backward regenerates the same mask instead of storing it (no memory for masks);
/// - the mask of an element does not depend on how a batch is split across threads;
/// - a step is reproduced exactly from its key (checkpoints store one seed, not masks).
public struct Dropout: Sendable {
    public let probability: Float
    /// Per call site and step: `Dropout.key(seed:site:)`.
    public let key: UInt64
    private let threshold: UInt64
    private let scale: Float

    public init(probability: Float, key: UInt64) {
        precondition((0..<1).contains(probability), "dropout probability must be in [0, 1)")
        self.probability = probability
        self.key = key
        threshold = UInt64((Double(probability) * 16_777_216).rounded())
        scale = 1 / (1 - probability)
    }

    /// True when the layer changes nothing (p = 0).
    public var isIdentity: Bool { threshold == 0 }

    /// Mixes a step's seed with a call site (layer, position in the layer) into a mask key.
    public static func key(seed: UInt64, site: UInt64) -> UInt64 {
        mix(seed ^ (site &* 0xD6E8_FEB8_6659_FD93))
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Whether element `index` survives: its 24-bit uniform draw is ≥ p.
    @inline(__always)
    public func keeps(_ index: Int) -> Bool {
        (Dropout.mix(key &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15) >> 40) >= threshold
    }

    /// x[i] ← mask(firstIndex + i) · x[i] / (1 − p), in place, for `count` elements. The same call
    /// on a gradient is the backward pass.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int, firstIndex: Int) {
        if isIdentity { return }
        for i in 0..<count {
            x[i] = keeps(firstIndex + i) ? x[i] * scale : 0
        }
    }

    /// y[i] ← mask · x[i] / (1 − p) into a separate buffer.
    public func apply(from x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int, firstIndex: Int) {
        if isIdentity { y.update(from: x, count: count); return }
        for i in 0..<count {
            y[i] = keeps(firstIndex + i) ? x[i] * scale : 0
        }
    }
}
