/// Root-mean-square normalisation over the last dimension, Hugging Face's `LlamaRMSNorm`
/// (computed in float32): `y = x · rsqrt(mean(x²) + eps) · weight`, no mean subtracted, no bias.
/// reference: https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py
public enum RMSNorm {
    typealias V = VectorMath.Vector

    /// output (N, C) = x · rstd · weight with rstd = 1 / √(mean(x²) + ε); caches `rstd` (N) when
    /// given, for backward. `output` may alias `input`. Rows run across the slice threads.
    public static func forward(
        output: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows N: Int, channels C: Int, epsilon: Float
    ) {
        let invC = 1 / Float(C)
        let w = VectorMath.width, vectorEnd = C - C % w
        Parallel.forEachSlice(of: N, granularity: 4) { rows in
            for r in rows {
                let x = input + r * C
                let y = output + r * C
                let s = 1 / (VectorMath.dot(x, x, C) * invC + epsilon).squareRoot()
                var i = 0
                while i < vectorEnd {
                    // HF: weight * (x * rstd), in that order of rounding.
                    VectorMath.store(VectorMath.load(weight + i) * (VectorMath.load(x + i) * s), y + i)
                    i += w
                }
                while i < C {
                    y[i] = weight[i] * (x[i] * s)
                    i += 1
                }
                rstd?[r] = s
            }
        }
    }

    /// Backward, given dOutput (N, C), the forward input and its cached rstd: dInput (N, C) is
    /// overwritten, or added to when `accumulateInput` (a residual stream joining; it must not
    /// alias dOutput then); dWeight (C) accumulates when given (nil: frozen).
    ///
    /// With x̂ = x · rstd and g = dOutput · weight: dx = rstd · (g − x̂ · mean(g · x̂)), dw += Σ dOutput · x̂.
    /// Rows run across the slice threads; each slice sums its own dWeight, added in slice order after.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, accumulateInput: Bool = false, dWeight: UnsafeMutablePointer<Float>?,
        dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows N: Int, channels C: Int
    ) {
        let slices = Parallel.sliceCount(of: N)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dWeight == nil ? 1 : slices * C) { partials in
            let partial = partials.baseAddress!
            if dWeight != nil { partial.update(repeating: 0, count: slices * C) }
            Parallel.forEachSlice(of: N) { slice, rows in
                backwardRows(
                    rows, dInput: dInput, accumulateInput: accumulateInput,
                    dWeight: dWeight == nil ? nil : partial + slice * C, dOutput: dOutput, input: input,
                    rstd: rstd, weight: weight, channels: C)
            }
            if let dWeight {
                for slice in 0..<slices { VectorMath.add(dWeight, partial + slice * C, C) }
            }
        }
    }

    private static func backwardRows(
        _ rows: Range<Int>, dInput: UnsafeMutablePointer<Float>, accumulateInput: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, weight: UnsafePointer<Float>, channels C: Int
    ) {
        let invC = 1 / Float(C)
        for r in rows {
            let x = input + r * C, dy = dOutput + r * C, dx = dInput + r * C
            let s = rstd[r]
            var sumGX: Float = 0
            for i in 0..<C {
                let xhat = x[i] * s
                sumGX += dy[i] * weight[i] * xhat
                dWeight?[i] += dy[i] * xhat
            }
            let meanGX = sumGX * invC
            if accumulateInput {
                for i in 0..<C { dx[i] += s * (dy[i] * weight[i] - x[i] * s * meanGX) }
            } else {
                for i in 0..<C { dx[i] = s * (dy[i] * weight[i] - x[i] * s * meanGX) }
            }
        }
    }
}
