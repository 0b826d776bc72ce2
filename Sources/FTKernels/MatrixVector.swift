import CBLAS

extension Parallel {
    /// `y (n) = alpha · W (n, k) · x (k) + beta · y`, W row-major with row stride `ldw`: the
    /// product of one token with a weight matrix (`x · Wᵀ`), as a matrix-vector product split over
    /// W's rows across the slice threads (each part single-threaded `cblas_sgemv`).
    ///
    /// Why not `sgemm` with m = 1: OpenBLAS 0.3.21's gemm packs W into its panel buffer before
    /// the kernel reads it, so a one-row product streams the weights twice and writes them once;
    /// decoding reads every weight once per token and is bound by that traffic.
    public static func sgemv(
        n: Int, k: Int, alpha: Float = 1, w: UnsafePointer<Float>, ldw: Int, x: UnsafePointer<Float>,
        beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        guard n > 0 else { return }
        guard k > 0 else {
            if beta == 0 { y.update(repeating: 0, count: n) } else if beta != 1 { for i in 0..<n { y[i] *= beta } }
            return
        }
        forEachSlice(of: n, granularity: 64) { rows in
            cblas_sgemv(
                CblasRowMajor, CblasNoTrans, blasint(rows.count), blasint(k), alpha, w + rows.lowerBound * ldw, blasint(ldw),
                x, 1, beta, y + rows.lowerBound, 1)
        }
    }
}
