#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Rotary position embeddings in Hugging Face's `rotate_half` convention (Llama; not the
/// interleaved pairs of the original paper): for head dimension D the pairs are `(i, i + D/2)`,
/// rotated by the angle `p · θᵢ`, `θᵢ = base^(−2i/D)`, at position p:
/// `y[i] = x[i] cos − x[i + D/2] sin`, `y[i + D/2] = x[i + D/2] cos + x[i] sin`.
public enum RotaryEmbedding {
    /// Fills cos and sin (positions, D/2) for positions 0 ..< positions. The angle is the float32
    /// product `Float(p) · θᵢ` as HF computes it (`inv_freq @ position_ids` in float32), its cosine
    /// and sine then rounded from double precision.
    public static func tables(
        cos cosines: UnsafeMutablePointer<Float>, sin sines: UnsafeMutablePointer<Float>,
        positions: Int, headDimension D: Int, base: Double
    ) {
        let half = D / 2
        for i in 0..<half {
            // HF: 1 / base ** (arange(0, D, 2).float() / D), computed in float32.
            let exponent = Float(2 * i) / Float(D)
            let inverseFrequency = 1 / Float(pow(base, Double(exponent)))
            for p in 0..<positions {
                let angle = Double(Float(p) * inverseFrequency)
                cosines[p * half + i] = Float(cos(angle))
                sines[p * half + i] = Float(sin(angle))
            }
        }
    }

    /// Rotates in place the `heads` head vectors (each D wide, contiguous) at the start of every
    /// row of x (rows of `stride` floats; row n is at position `firstPosition + n % sequence`).
    /// `inverse`: the rotation by −angle (the backward of the forward rotation).
    public static func apply(
        _ x: UnsafeMutablePointer<Float>, rows N: Int, stride: Int, sequence T: Int, firstPosition: Int = 0,
        heads: Int, headDimension D: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, inverse: Bool = false
    ) {
        let half = D / 2
        let sign: Float = inverse ? -1 : 1
        Parallel.forEachSlice(of: N, granularity: 4) { rows in
            for n in rows {
                let p = firstPosition + n % T
                let c = cos + p * half, s = sin + p * half
                for h in 0..<heads {
                    let v = x + n * stride + h * D
                    for i in 0..<half {
                        let a = v[i], b = v[i + half]
                        let si = sign * s[i]
                        v[i] = a * c[i] - b * si
                        v[i + half] = b * c[i] + a * si
                    }
                }
            }
        }
    }
}
