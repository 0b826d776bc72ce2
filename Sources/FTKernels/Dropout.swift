/// Inverted dropout (PyTorch's `nn.Dropout`): in training, each element is zeroed with
/// probability p and the survivors are scaled by 1 / (1 − p).
///
/// The keep/drop decision is a counter-based hash of (key, element index) rather than a stream
/// of draws, so:
/// - backward regenerates the same mask instead of storing it (no memory for masks);
/// - the mask of an element does not depend on how a batch is split across threads;
/// - a step is reproduced exactly from its key (checkpoints store one seed, not masks).
public struct Dropout: Sendable {
    /// p, the probability that an element is zeroed.
    public let probability: Float
    /// Per call site and step: `Dropout.key(seed:site:)`.
    public let key: UInt64
    /// The draw's 24-bit threshold: an element survives when its draw is ≥ p · 2²⁴.
    private let threshold: Int32
    private let scale: Float

    /// Dropout with probability p in [0, 1) and mask key `key` (`Dropout.key(seed:site:)`).
    public init(probability: Float, key: UInt64) {
        // fatalError, not precondition: this target is built -Ounchecked, which drops preconditions,
        // and the probability comes from a configuration file.
        if !(0..<1).contains(probability) { fatalError("dropout probability must be in [0, 1)") }
        self.probability = probability
        self.key = key
        threshold = Int32((Double(probability) * 16_777_216).rounded())
        scale = 1 / (1 - probability)
    }

    /// True when the layer changes nothing (p = 0).
    public var isIdentity: Bool { threshold == 0 }

    /// Mixes a step's seed with a call site (layer, position in the layer) into a mask key.
    public static func key(seed: UInt64, site: UInt64) -> UInt64 {
        mix(seed ^ (site &* 0xD6E8_FEB8_6659_FD93))
    }

    /// SplitMix64's finaliser.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    // The per-element hash works on 32-bit words, which AVX2 multiplies eight at a time (it has
    // no 64-bit lane multiply): two rounds of the `lowbias32` integer hash (Wellons), the low word
    // of the index mixed with the key's low word, then its high word with the key's high word.
    // The scalar and the eight-lane forms compute the same bits.

    @inline(__always)
    static func hash32(_ v: UInt32) -> UInt32 {
        var x = v
        x ^= x >> 16
        x &*= 0x7FEB_352D
        x ^= x >> 15
        x &*= 0x846C_A68B
        x ^= x >> 16
        return x
    }

    @inline(__always)
    static func hash32(_ v: SIMD8<UInt32>) -> SIMD8<UInt32> {
        var x = v
        x ^= x &>> 16
        x &*= 0x7FEB_352D
        x ^= x &>> 15
        x &*= 0x846C_A68B
        x ^= x &>> 16
        return x
    }

    /// The key's high word mixed with the high word of `index`.
    @inline(__always)
    private func highKey(_ index: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: key >> 32) ^ (UInt32(truncatingIfNeeded: index >> 32) &* 0x9E37_79B9)
    }

    /// Whether element `index` survives: its 24-bit uniform draw is ≥ p.
    @inline(__always)
    public func keeps(_ index: Int) -> Bool {
        let low = UInt32(truncatingIfNeeded: index) ^ UInt32(truncatingIfNeeded: key)
        return Int32(Dropout.hash32(Dropout.hash32(low) ^ highKey(index)) >> 8) >= threshold
    }

    /// The bits that survive `keeps` for elements `index ..< index + 8`, whose low words must not
    /// wrap around: all ones for a kept lane, zero for a dropped one.
    @inline(__always)
    func keptBits8(_ index: Int) -> SIMD8<UInt32> {
        keptBits8(lowWords: Dropout.lanes &+ UInt32(truncatingIfNeeded: index), highKey: highKey(index))
    }

    /// `keptBits8` from the eight indices' low words and their (shared) high word's key, which
    /// a loop keeps in registers instead of rebuilding them per block. (Arithmetic, not a
    /// `SIMDMask` comparison, which Swift lowers to a lane-by-lane loop.)
    @inline(__always)
    func keptBits8(lowWords: SIMD8<UInt32>, highKey: UInt32) -> SIMD8<UInt32> {
        let low = lowWords ^ UInt32(truncatingIfNeeded: key)
        let draw = Dropout.hash32(Dropout.hash32(low) ^ highKey) &>> 8  // < 2²⁴
        // draw − threshold is negative exactly for dropped lanes; its sign spread over the lane.
        let dropped = (unsafeBitCast(draw, to: SIMD8<Int32>.self) &- threshold) &>> 31
        return ~unsafeBitCast(dropped, to: SIMD8<UInt32>.self)
    }

    static let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)

    /// x[i] ← mask(firstIndex + i) · x[i] / (1 − p), in place, for `count` elements. The same call
    /// on a gradient is the backward pass.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int, firstIndex: Int) {
        apply(from: x, to: x, count: count, firstIndex: firstIndex)
    }

    /// y[i] ← mask · x[i] / (1 − p) into a separate buffer (or the same one). Runs across the slice
    /// threads (`Parallel`); masks depend on indices only, so the split changes nothing.
    public func apply(from x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int, firstIndex: Int) {
        if isIdentity {
            if UnsafePointer(y) != x { y.update(from: x, count: count) }
            return
        }
        Parallel.forEachSlice(of: count, granularity: 64) { range in
            applyRange(from: x, to: y, range, firstIndex: firstIndex)
        }
    }

    /// `apply` over `range` on the calling thread, eight elements at a time. Blocks whose low
    /// index words would wrap around 2³² go element by element (`keptBits8` needs one high word).
    private func applyRange(
        from x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, _ range: Range<Int>,
        firstIndex: Int
    ) {
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let index = firstIndex + i
            let lowStart = UInt32(truncatingIfNeeded: index)
            guard lowStart <= UInt32.max - 7 else {
                for k in i..<(i + 8) { y[k] = keeps(firstIndex + k) ? x[k] * scale : 0 }
                i += 8
                continue
            }
            // Up to the wrap, the high word is fixed and the low words advance by 8 per block.
            let runEnd = min(range.upperBound, i + Int(UInt32.max - lowStart) + 1)
            let high = highKey(index)
            var low = Dropout.lanes &+ lowStart
            while i + 8 <= runEnd {
                let v = unsafeBitCast(VectorMath.load(x + i) * scale, to: SIMD8<UInt32>.self)
                VectorMath.store(unsafeBitCast(v & keptBits8(lowWords: low, highKey: high), to: SIMD8<Float>.self), y + i)
                low &+= 8
                i += 8
            }
        }
        while i < range.upperBound {
            y[i] = keeps(firstIndex + i) ? x[i] * scale : 0
            i += 1
        }
    }
}
