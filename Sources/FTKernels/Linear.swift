/// Fully connected layer kernels, PyTorch's `nn.Linear`: `y = x · Wᵀ + b` with W stored `(out, in)`.
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
public enum Linear {
    /// out (N, O) = input (N, I) · weightᵀ (I, O) + bias (O). Overwrites `output`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows N: Int, inputs I: Int, outputs O: Int
    ) {
        if let bias {
            for r in 0..<N { (output + r * O).update(from: bias, count: O) }
        }
        BLAS.sgemm(
            transA: false, transB: true, m: N, n: O, k: I,
            a: input, lda: I, b: weight, ldb: I,
            beta: bias == nil ? 0 : 1, c: output, ldc: O)
    }

    /// Backward of `forward`, given dOutput (N, O):
    /// - dInput (N, I) = dOutput · W — overwritten, or added when `accumulateInput` (a residual
    ///   branch joining); skipped when `dInput` is nil (the layer's input needs no gradient).
    /// - dWeight (O, I) += dOutputᵀ · input; dBias (O) += column sums of dOutput. Skipped when nil
    ///   (frozen weights).
    ///
    /// Runs across the slice threads (`Parallel`): dInput by rows, dWeight by output features,
    /// dBias by columns.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>?, accumulateInput: Bool = false,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows N: Int, inputs I: Int, outputs O: Int
    ) {
        if let dInput {
            Parallel.sgemm(
                transA: false, transB: false, m: N, n: I, k: O,
                a: dOutput, lda: O, b: weight, ldb: I,
                beta: accumulateInput ? 1 : 0, c: dInput, ldc: I)
        }
        if let dWeight {
            Parallel.sgemm(
                transA: true, transB: false, m: O, n: I, k: N,
                a: dOutput, lda: O, b: input, ldb: I,
                beta: 1, c: dWeight, ldc: I)
        }
        if let dBias {
            Parallel.forEachSlice(of: O, granularity: 16) { columns in
                for r in 0..<N {
                    let row = dOutput + r * O
                    for o in columns { dBias[o] += row[o] }
                }
            }
        }
    }
}
