/// A matrix product at a chosen precision: the one entry the layers (`Linear`, and `Parallel`'s
/// split products) call, so a model picks float32 or bfloat16 without knowing the kernels.
public enum MatrixProduct {
    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, row-major (the contract of `BLAS.sgemm`),
    /// in `precision`: for float32 `BLAS.sgemm` or, when `float32Kernel` says so,
    /// `OneDNNFloat32.sgemm`; `BF16Products.gemm` for bfloat16.
    @inlinable
    public static func gemm(
        precision: MatrixPrecision, float32Kernel: Float32Kernel = .openBLAS, transA: Bool, transB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        switch precision {
        case .float32 where float32Kernel == .oneDNN:
            OneDNNFloat32.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .float32:
            BLAS.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .bfloat16:
            BF16Products.gemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}
