extension Parallel {
    /// `MatrixProduct.gemm` (float32 on OpenBLAS by default) split across the slice threads: C's rows when there are enough of them, else
    /// its columns, each part one single-threaded product. Every element of C is computed by one
    /// thread over the whole `k`: no partial sums are combined across threads. Inline when called
    /// inside a slice.
    public static func sgemm(
        precision: MatrixPrecision = .float32, float32Kernel: Float32Kernel = .openBLAS, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // Parts narrower than a kernel's register block (16 × 16 floats here) waste it.
        let block = 16
        if m >= n || sliceCount(of: n, granularity: block) < 2 {
            forEachSlice(of: m, granularity: block) { rows in
                MatrixProduct.gemm(
                    precision: precision, float32Kernel: float32Kernel, transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha,
                    a: transA ? a + rows.lowerBound : a + rows.lowerBound * lda, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        } else {
            forEachSlice(of: n, granularity: block) { columns in
                MatrixProduct.gemm(
                    precision: precision, float32Kernel: float32Kernel, transA: transA, transB: transB, m: m, n: columns.count, k: k, alpha: alpha,
                    a: a, lda: lda,
                    b: transB ? b + columns.lowerBound * ldb : b + columns.lowerBound, ldb: ldb,
                    beta: beta, c: c + columns.lowerBound, ldc: ldc)
            }
        }
    }
}
