#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// GELU in its erf form, `x · Φ(x)` (PyTorch's default `approximate='none'`, which BERT's
/// `hidden_act: "gelu"` means), not the tanh approximation.
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.GELU.html
///
/// erf is evaluated the way PyTorch's vectorised CPU kernel evaluates it (`Vectorized<float>::erf`:
/// Abramowitz & Stegun 7.1.26, absolute error ≤ 1.5e-7), which is both closer to PyTorch's numbers
/// and several times cheaper than libm's `erff` — GELU was 13% of an inference pass with `erff`.
public enum GELU {
    typealias Vector = VectorMath.Vector

    /// output (n) = x · ½ (1 + erf(x / √2)). `output` may alias `input`.
    /// Element-wise, so it runs across the slice threads (`Parallel`) with the same results.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
        Parallel.forEachSlice(of: n, granularity: 64) { range in
            forEachVector(range) { i, lanes in
                let x = load(input + i, lanes)
                store(0.5 * x * (1 + erf(x * invSqrt2)), output + i, lanes)
            }
        }
    }

    /// The feed-forward's bias and GELU in one pass over `rows × columns`:
    /// output = GELU(input + bias). The product before it then writes its output without a bias
    /// row copied in first (`Linear.forward` with no bias), which saves a pass over the widest
    /// activation; `input` is left as it is (backward adds the bias again, see
    /// `backward(dInput:dOutput:input:bias:rows:columns:)`), which saves writing it back.
    /// x + bias is the same float as the product's own bias + x. Across the slice threads.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, rows: Int, columns: Int
    ) {
        Parallel.forEachSlice(of: rows) { range in
            for r in range {
                let x = input + r * columns, y = output + r * columns
                forEachVector(0..<columns) { i, lanes in
                    let v = load(x + i, lanes) + load(bias + i, lanes)
                    store(0.5 * v * (1 + erf(v * invSqrt2)), y + i, lanes)
                }
            }
        }
    }

    /// dInput (n) = dOutput · (Φ(x) + x · φ(x)). Overwrites; may alias dOutput. Across the slice threads.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
        input: UnsafePointer<Float>, count n: Int
    ) {
        Parallel.forEachSlice(of: n, granularity: 64) { range in
            forEachVector(range) { i, lanes in
                store(derivative(load(input + i, lanes)) * load(dOutput + i, lanes), dInput + i, lanes)
            }
        }
    }

    /// Backward of the biased `forward`: the derivative at `input + bias` (rows × columns).
    /// Overwrites; may alias dOutput. Across the slice threads.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
        input: UnsafePointer<Float>, bias: UnsafePointer<Float>, rows: Int, columns: Int
    ) {
        Parallel.forEachSlice(of: rows) { range in
            for r in range {
                let offset = r * columns
                forEachVector(0..<columns) { i, lanes in
                    let x = load(input + offset + i, lanes) + load(bias + i, lanes)
                    store(derivative(x) * load(dOutput + offset + i, lanes), dInput + offset + i, lanes)
                }
            }
        }
    }

    /// GELU′(x) = Φ(x) + x · φ(x); erf's own e^(−x²/2) serves the density too: one exp, not two.
    @inline(__always)
    static func derivative(_ x: Vector) -> Vector {
        let (erfValue, gaussian) = erfAndGaussian(x * invSqrt2)
        let cdf = 0.5 * (1 + erfValue)
        let pdf = invSqrt2Pi * gaussian
        return cdf + x * pdf
    }

    static let invSqrt2: Float = 0.70710678118654752
    static let invSqrt2Pi: Float = 0.39894228040143268

    /// erf(x) = sign(x) · (1 − t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5)))) · e^(−x²)), t = 1 / (1 + p·|x|).
    @inline(__always)
    static func erf(_ x: Vector) -> Vector { erfAndGaussian(x).erf }

    /// erf(x) and the e^(−x²) it is computed from, with fused multiply-adds where PyTorch's AVX2
    /// `Vectorized<float>::erf` has them (the denominator, Horner's rule, and 1 − (e·t)·r); its
    /// e^(−x²) is Sleef's (1 ulp), ours `VectorMath.exp` (2 ulp).
    @inline(__always)
    static func erfAndGaussian(_ x: Vector) -> (erf: Vector, gaussian: Vector) {
        typealias M = VectorMath
        let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Vector.self)
        let one = Vector(repeating: 1)
        let t = one / M.fma(Vector(repeating: 0.3275911), a, one)
        var r = M.fma(Vector(repeating: 1.061405429), t, Vector(repeating: -1.453152027))
        r = M.fma(r, t, Vector(repeating: 1.421413741))
        r = M.fma(r, t, Vector(repeating: -0.284496736))
        r = M.fma(r, t, Vector(repeating: 0.254829592))
        let gaussian = M.exp(-(a * a))
        let y = M.fma(-(gaussian * t), r, one)
        // y ≥ 0: give it x's sign bit (a bit operation; a `SIMDMask` select runs lane by lane).
        let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return (unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: Vector.self), gaussian)
    }

    /// Calls `body(start, lanes)` for each block of 8 elements of `range`, the last one possibly
    /// partial; the tail goes through the same vector code so every element is computed alike.
    @inline(__always)
    static func forEachVector(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
        var i = range.lowerBound
        while i + VectorMath.width <= range.upperBound {
            body(i, VectorMath.width)
            i += VectorMath.width
        }
        if i < range.upperBound { body(i, range.upperBound - i) }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ lanes: Int) -> Vector {
        lanes == VectorMath.width ? VectorMath.load(p) : VectorMath.loadPartial(p, count: lanes)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == VectorMath.width { VectorMath.store(v, p) } else { for k in 0..<lanes { p[k] = v[k] } }
    }
}

/// Hyperbolic tangent (BERT's pooler activation).
public enum Tanh {
    /// output (n) = tanh(input) (libm's `tanhf`). `output` may alias `input`.
    public static func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int) {
        for i in 0..<n { output[i] = tanhf(input[i]) }
    }

    /// dInput = dOutput · (1 − y²) from the forward *output* y. Overwrites; may alias dOutput.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
        output: UnsafePointer<Float>, count n: Int
    ) {
        for i in 0..<n { dInput[i] = dOutput[i] * (1 - output[i] * output[i]) }
    }
}
