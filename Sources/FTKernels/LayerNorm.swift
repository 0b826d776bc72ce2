/// Layer normalisation over the last dimension, PyTorch's `nn.LayerNorm` (biased variance).
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html
public enum LayerNorm {
    typealias V = VectorMath.Vector

    /// output (N, C) = (x − mean) · rstd · gamma + beta. Caches `mean` and `rstd` (N) for backward.
    /// `output` may alias `input`. Rows run across the slice threads (`Parallel`) in blocks of at
    /// least `minimumSliceFloats` values while the workers are spinning (one text's rows between
    /// its products, `SlicePool.spreadsSmallWork`; inside a batch slice, inline); each row is
    /// computed alike wherever it runs.
    public static func forward(
        output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
        rstd: UnsafeMutablePointer<Float>?, input: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        rows N: Int, channels C: Int, epsilon: Float
    ) {
        let granularity = max(1, minimumSliceFloats / max(C, 1))
        guard Parallel.sliceCount(of: N, granularity: granularity) > 1, SlicePool.spreadSmallWorkNow else {
            forwardRows(0..<N, output: output, mean: mean, rstd: rstd, input: input, gamma: gamma, beta: beta, channels: C, epsilon: epsilon)
            return
        }
        Parallel.forEachSlice(of: N, granularity: granularity) { rows in
            forwardRows(
                rows, output: output, mean: mean, rstd: rstd, input: input, gamma: gamma, beta: beta, channels: C, epsilon: epsilon)
        }
    }

    /// The fewest values a slice of `forward` gets: below that a dispatch costs more than it saves.
    static let minimumSliceFloats = 4096

    /// `forward` for `rows` on the calling thread.
    @inline(__always)
    static func forwardRows(
        _ rows: Range<Int>, output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
        rstd: UnsafeMutablePointer<Float>?, input: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, channels C: Int, epsilon: Float
    ) {
        let invC = 1 / Float(C)
        let w = VectorMath.width, vectorEnd = C - C % w
        for r in rows {
            let x = input + r * C
            let y = output + r * C
            let m = VectorMath.sum(x, C) * invC
            var squares = V.zero
            var i = 0
            while i < vectorEnd {
                let d = VectorMath.load(x + i) - m
                squares += d * d
                i += w
            }
            var sq = squares.sum()
            while i < C {
                let d = x[i] - m
                sq += d * d
                i += 1
            }
            let s = 1 / (sq * invC + epsilon).squareRoot()
            i = 0
            while i < vectorEnd {
                VectorMath.store((VectorMath.load(x + i) - m) * s * VectorMath.load(gamma + i) + VectorMath.load(beta + i), y + i)
                i += w
            }
            while i < C {
                y[i] = (x[i] - m) * s * gamma[i] + beta[i]
                i += 1
            }
            mean?[r] = m
            rstd?[r] = s
        }
    }

    /// Backward, given dOutput (N, C), the forward input and its cached mean/rstd:
    /// dInput (N, C) is overwritten (it may alias dOutput); dGamma, dBeta (C) accumulate.
    ///
    /// With x̂ = (x − mean)·rstd and g = dOutput·gamma:
    /// dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)).
    ///
    /// Rows run across the slice threads (`Parallel`); each slice sums its own dGamma and dBeta,
    /// added in slice order after.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>?,
        dBeta: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>,
        input: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, rows N: Int, channels C: Int
    ) {
        let slices = Parallel.sliceCount(of: N)
        guard slices > 1 else {
            backwardRows(
                0..<N, dInput: dInput, dGamma: dGamma, dBeta: dBeta, dOutput: dOutput, input: input,
                mean: mean, rstd: rstd, gamma: gamma, channels: C)
            return
        }
        // Per slice: C partial dGamma then C partial dBeta (a few KB, on the stack).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: slices * 2 * C) { partials in
            let partial = partials.baseAddress!
            partial.update(repeating: 0, count: slices * 2 * C)
            Parallel.forEachSlice(of: N) { slice, rows in
                let own = partial + slice * 2 * C
                backwardRows(
                    rows, dInput: dInput, dGamma: dGamma == nil ? nil : own,
                    dBeta: dBeta == nil ? nil : own + C, dOutput: dOutput, input: input,
                    mean: mean, rstd: rstd, gamma: gamma, channels: C)
            }
            for slice in 0..<slices {
                let own = partial + slice * 2 * C
                if let dGamma { VectorMath.add(dGamma, own, C) }
                if let dBeta { VectorMath.add(dBeta, own + C, C) }
            }
        }
    }

    /// `backward` for `rows` of the batch, on the calling thread.
    private static func backwardRows(
        _ rows: Range<Int>, dInput: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>?,
        dBeta: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>,
        input: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, channels C: Int
    ) {
        let invC = 1 / Float(C)
        let w = VectorMath.width, vectorEnd = C - C % w
        for r in rows {
            let x = input + r * C
            let dy = dOutput + r * C
            let dx = dInput + r * C
            let m = mean[r], s = rstd[r]
            var sumG = V.zero, sumGX = V.zero
            var i = 0
            while i < vectorEnd {
                let xhat = (VectorMath.load(x + i) - m) * s
                let d = VectorMath.load(dy + i)
                let g = d * VectorMath.load(gamma + i)
                sumG += g
                sumGX += g * xhat
                if let dGamma { VectorMath.store(VectorMath.load(dGamma + i) + d * xhat, dGamma + i) }
                if let dBeta { VectorMath.store(VectorMath.load(dBeta + i) + d, dBeta + i) }
                i += w
            }
            var meanG = sumG.sum(), meanGX = sumGX.sum()
            while i < C {
                let xhat = (x[i] - m) * s
                let g = dy[i] * gamma[i]
                meanG += g
                meanGX += g * xhat
                dGamma?[i] += dy[i] * xhat
                dBeta?[i] += dy[i]
                i += 1
            }
            meanG *= invC
            meanGX *= invC
            i = 0
            while i < vectorEnd {
                let xhat = (VectorMath.load(x + i) - m) * s
                let g = VectorMath.load(dy + i) * VectorMath.load(gamma + i)
                VectorMath.store(s * (g - meanG - xhat * meanGX), dx + i)
                i += w
            }
            while i < C {
                let xhat = (x[i] - m) * s
                dx[i] = s * (dy[i] * gamma[i] - meanG - xhat * meanGX)
                i += 1
            }
        }
    }
}
