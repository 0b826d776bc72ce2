/// Fully connected layer kernels, PyTorch's `nn.Linear`: `y = x · Wᵀ + b` with W stored `(out, in)`.
/// reference: https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
public enum Linear {
    /// out (N, O) = input (N, I) · weightᵀ (I, O) + bias (O). Overwrites `output`. With
    /// `precision` bfloat16 the product rounds input and weight to bf16 and accumulates in float32
    /// (the bias stays float32), as `torch.autocast` runs `nn.Linear`.
    public static func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows N: Int, inputs I: Int, outputs O: Int, precision: MatrixPrecision = .float32
    ) {
        if let bias {
            for r in 0..<N { (output + r * O).update(from: bias, count: O) }
        }
        MatrixProduct.gemm(
            precision: precision, transA: false, transB: true, m: N, n: O, k: I,
            a: input, lda: I, b: weight, ldb: I,
            beta: bias == nil ? 0 : 1, c: output, ldc: O)
    }

    /// Backward of `forward`, given dOutput (N, O):
    /// - dInput (N, I) = dOutput · W — overwritten, or added when `accumulateInput` (a residual
    ///   branch joining); skipped when `dInput` is nil (the layer's input needs no gradient).
    /// - dWeight (O, I) += dOutputᵀ · input; dBias (O) += column sums of dOutput. Skipped when nil
    ///   (frozen weights).
    ///
    /// With `precision` bfloat16, both products take bf16-rounded operands (float32 accumulation,
    /// so dWeight's `+=` adds to float32 master gradients); dBias stays float32.
    ///
    /// Runs across the slice threads (`Parallel`): dInput by rows, dWeight by output features,
    /// dBias by columns.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>?, accumulateInput: Bool = false,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        dOutput: UnsafePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows N: Int, inputs I: Int, outputs O: Int, precision: MatrixPrecision = .float32
    ) {
        if let dInput {
            Parallel.sgemm(
                precision: precision, transA: false, transB: false, m: N, n: I, k: O,
                a: dOutput, lda: O, b: weight, ldb: I,
                beta: accumulateInput ? 1 : 0, c: dInput, ldc: I)
        }
        if let dWeight {
            Parallel.sgemm(
                precision: precision, transA: true, transB: false, m: O, n: I, k: N,
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
