import CBLAS

/// Thin, row-major wrappers over OpenBLAS. Every matrix product of fttrain goes through here.
///
/// Numerical contract: results equal a naive triple loop up to float32 re-association
/// (tests compare against `NaiveMath` in the test support with a relative tolerance of 1e-5).
public enum BLAS {
    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, all row-major.
    /// `op(A)` is `(m, k)`: A is stored `(m, k)` or, when `transA`, `(k, m)`; likewise `op(B)` is `(k, n)`.
    /// `beta = 1` accumulates into C (how backward adds weight gradients), `beta = 0` overwrites.
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS would still scale C by beta; keep that contract without calling it.
            if beta == 0 {
                for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
            } else if beta != 1 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }

    /// Number of threads OpenBLAS uses for one product. With several MPI ranks on one node set this
    /// to cores ÷ ranks, or the ranks oversubscribe the cores.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }
}
