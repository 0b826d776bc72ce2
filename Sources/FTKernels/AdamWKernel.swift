/// The element loop of an AdamW step (`AdamW` in FTTrain holds the optimizer's state, its
/// validation and the split of the buffer into runs, segments and slices; see its comment for the
/// formula and the float32 contract against PyTorch).
public enum AdamWKernel {
    /// The float32 scalars of one step, each formed in Double and rounded to Float once.
    public struct Scalars: Sendable {
        /// 1 − lr·λ.
        public var decayFactor: Float
        /// 1 − β1.
        public var lerpWeight: Float
        /// β2.
        public var beta2: Float
        /// 1 − β2.
        public var oneMinusBeta2: Float
        /// √(1 − β2ᵗ).
        public var biasCorrection2Sqrt: Float
        /// ε.
        public var epsilon: Float
        /// −lr / (1 − β1ᵗ).
        public var negativeStepSize: Float

        /// The scalars as given (no rounding or checks here).
        public init(
            decayFactor: Float, lerpWeight: Float, beta2: Float, oneMinusBeta2: Float,
            biasCorrection2Sqrt: Float, epsilon: Float, negativeStepSize: Float
        ) {
            self.decayFactor = decayFactor
            self.lerpWeight = lerpWeight
            self.beta2 = beta2
            self.oneMinusBeta2 = oneMinusBeta2
            self.biasCorrection2Sqrt = biasCorrection2Sqrt
            self.epsilon = epsilon
            self.negativeStepSize = negativeStepSize
        }
    }

    /// The update of `n` consecutive elements of parameters `p`, gradients `g` and moments `m`,
    /// `v` (all in place but `g`), weight decay only when `decay`. Eight at a time: every
    /// operation is element-wise and IEEE-rounded (`vsqrtps`, `vdivps`, `vfmadd`), so the vector
    /// body and the scalar tail give the same bits as one scalar loop.
    /// Unchecked: the caller guarantees `n` elements behind every pointer.
    public static func update(
        _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, count n: Int, _ s: Scalars, decay: Bool
    ) {
        // ATen's lerp picks its form by |weight| < 0.5 (precision near each end):
        // weight small: fma(w, g − m, m); else: fma(w − 1, g − m, g).
        let smallWeight = abs(s.lerpWeight) < 0.5
        let lerpCoefficient = smallWeight ? s.lerpWeight : s.lerpWeight - 1
        let decayFactor: Float = decay ? s.decayFactor : 1  // x·1 = x exactly: no decay
        typealias V = VectorMath.Vector
        let vDecay = V(repeating: decayFactor), vLerp = V(repeating: lerpCoefficient)
        let vBeta2 = V(repeating: s.beta2), vOneMinusBeta2 = V(repeating: s.oneMinusBeta2)
        let vCorrection = V(repeating: s.biasCorrection2Sqrt), vEpsilon = V(repeating: s.epsilon)
        let vStep = V(repeating: s.negativeStepSize)
        var i = 0
        while i + VectorMath.width <= n {
            let gi = VectorMath.load(g + i), mi = VectorMath.load(m + i)
            let pi = VectorMath.load(p + i) * vDecay
            let m1 = (smallWeight ? mi : gi).addingProduct(vLerp, gi - mi)
            let v1 = (VectorMath.load(v + i) * vBeta2).addingProduct(vOneMinusBeta2 * gi, gi)
            let denom = v1.squareRoot() / vCorrection + vEpsilon
            VectorMath.store(pi + (vStep * m1) / denom, p + i)
            VectorMath.store(m1, m + i)
            VectorMath.store(v1, v + i)
            i += VectorMath.width
        }
        while i < n {
            let gi = g[i], mi = m[i]
            let pi = p[i] * decayFactor  // p.mul_(1 − lr·λ)
            let m1 = (smallWeight ? mi : gi).addingProduct(lerpCoefficient, gi - mi)  // exp_avg.lerp_(g, 1 − β1)
            let v1 = (v[i] * s.beta2).addingProduct(s.oneMinusBeta2 * gi, gi)  // v·β2 + (1 − β2)·g·g
            let denom = v1.squareRoot() / s.biasCorrection2Sqrt + s.epsilon  // √v / √bc2 + ε
            p[i] = pi + (s.negativeStepSize * m1) / denom  // addcdiv_(m, denom, −step)
            m[i] = m1
            v[i] = v1
            i += 1
        }
    }
}
