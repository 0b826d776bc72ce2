#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Llama's gated feed-forward activation: `h = silu(gate) · up`, silu(x) = x · σ(x)
/// (PyTorch's `nn.SiLU`, `hidden_act: "silu"`).
///
/// The gate and up projections are one product (their weights sit side by side in the store),
/// so each input row holds `[gate | up]`, `2F` wide. e^x is `VectorMath.exp` (≤ 2 ulp) eight
/// lanes at a time, libm's `expf` for a row's last F mod 8 features: libm's scalar call was ~4% of
/// a prompt's pass.
public enum SwiGLU {
    /// output (N, F) = silu(gateUp[:, :F]) · gateUp[:, F:], gateUp (N, 2F). Across the slice threads.
    public static func forward(
        output: UnsafeMutablePointer<Float>, gateUp: UnsafePointer<Float>, rows N: Int, features F: Int
    ) {
        Parallel.forEachSlice(of: N, granularity: 4) { rows in
            for r in rows {
                let g = gateUp + r * 2 * F, u = g + F, h = output + r * F
                let one = VectorMath.Vector(repeating: 1)
                var i = 0
                while i + VectorMath.width <= F {
                    let x = VectorMath.load(g + i)
                    VectorMath.store(x / (one + VectorMath.exp(-x)) * VectorMath.load(u + i), h + i)
                    i += VectorMath.width
                }
                while i < F {
                    let x = g[i]
                    h[i] = x / (1 + expf(-x)) * u[i]
                    i += 1
                }
            }
        }
    }

    /// dGateUp (N, 2F) ← backward of `forward` given dOutput (N, F): overwritten.
    /// d gate = dh · up · σ(g) · (1 + g · (1 − σ(g))), d up = dh · silu(g).
    public static func backward(
        dGateUp: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, gateUp: UnsafePointer<Float>,
        rows N: Int, features F: Int
    ) {
        Parallel.forEachSlice(of: N, granularity: 4) { rows in
            for r in rows {
                let g = gateUp + r * 2 * F, u = g + F, dh = dOutput + r * F
                let dg = dGateUp + r * 2 * F, du = dg + F
                let one = VectorMath.Vector(repeating: 1)
                var i = 0
                while i + VectorMath.width <= F {
                    let x = VectorMath.load(g + i)
                    let s = one / (one + VectorMath.exp(-x))
                    let d = VectorMath.load(dh + i)
                    VectorMath.store(d * x * s, du + i)
                    VectorMath.store(d * VectorMath.load(u + i) * s * (one + x * (one - s)), dg + i)
                    i += VectorMath.width
                }
                while i < F {
                    let x = g[i]
                    let s = 1 / (1 + expf(-x))
                    let d = dh[i]
                    du[i] = d * x * s
                    dg[i] = d * u[i] * s * (1 + x * (1 - s))
                    i += 1
                }
            }
        }
    }
}
