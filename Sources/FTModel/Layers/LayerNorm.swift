/// Layer normalisation over the last dimension, PyTorch's `nn.LayerNorm` (biased variance).
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html
public enum LayerNorm {
    /// output (N, C) = (x − mean) · rstd · gamma + beta. Caches `mean` and `rstd` (N) for backward.
    /// `output` may alias `input`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
        rstd: UnsafeMutablePointer<Float>?, input: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        rows N: Int, channels C: Int, epsilon: Float
    ) {
        let invC = 1 / Float(C)
        for r in 0..<N {
            let x = input + r * C
            let y = output + r * C
            var sum: Float = 0
            for i in 0..<C { sum += x[i] }
            let m = sum * invC
            var sq: Float = 0
            for i in 0..<C { let d = x[i] - m; sq += d * d }
            let s = 1 / (sq * invC + epsilon).squareRoot()
            for i in 0..<C { y[i] = (x[i] - m) * s * gamma[i] + beta[i] }
            mean?[r] = m
            rstd?[r] = s
        }
    }

    /// Backward, given dOutput (N, C), the forward input and its cached mean/rstd:
    /// dInput (N, C) is overwritten (it may alias dOutput); dGamma, dBeta (C) accumulate.
    ///
    /// With x̂ = (x − mean)·rstd and g = dOutput·gamma:
    /// dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)).
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dGamma: UnsafeMutablePointer<Float>?,
        dBeta: UnsafeMutablePointer<Float>?, dOutput: UnsafePointer<Float>,
        input: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        gamma: UnsafePointer<Float>, rows N: Int, channels C: Int
    ) {
        let invC = 1 / Float(C)
        for r in 0..<N {
            let x = input + r * C
            let dy = dOutput + r * C
            let dx = dInput + r * C
            let m = mean[r], s = rstd[r]
            var meanG: Float = 0, meanGX: Float = 0
            for i in 0..<C {
                let xhat = (x[i] - m) * s
                let g = dy[i] * gamma[i]
                meanG += g
                meanGX += g * xhat
                dGamma?[i] += dy[i] * xhat
                dBeta?[i] += dy[i]
            }
            meanG *= invC
            meanGX *= invC
            for i in 0..<C {
                let xhat = (x[i] - m) * s
                dx[i] = s * (dy[i] * gamma[i] - meanG - xhat * meanGX)
            }
        }
    }
}
