import FTCore
import TestSupport
import XCTest

/// float32 products on oneDNN (`OneDNNFloat32`, `MatrixProduct`/`Parallel.sgemm` with
/// `float32Kernel: .oneDNN`) against Double references, in every transpose combination, odd and
/// tail shapes, strided operands, alpha and beta, and split across slice threads.
///
/// Bound, per element (i, j), with S = Σ_p |a_ip|·|b_pj| and u = 2^-24: |c − alpha·A·B − beta·c₀|
/// ≤ |alpha|·(k + 1)·u·S plus one rounding of the sum with c₀ — float32 accumulation in any order
/// (fused or not), the result stored once.
final class OneDNNFloat32Tests: XCTestCase {
    /// Shapes: single elements, tails of 16/48-wide blocks, primes, long inner dimensions, and the
    /// decoder's prompt products cut to 9 rows (q|k|v and down: NT over 576 and 1536).
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 17, 3), (5, 7, 3), (17, 33, 65), (31, 1, 129), (64, 48, 16), (3, 130, 257), (9, 20, 1536),
        (9, 960, 576),
    ]

    func testBoundsOnEveryShapeAndTransposition() {
        for shape in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(shape, transA: transA, transB: transB, alpha: 1, beta: 0, pad: 0)
                }
            }
        }
    }

    func testStridedOperandsAlphaAndBeta() {
        for shape in [(m: 7, n: 9, k: 33), (m: 33, n: 17, k: 5)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    check(shape, transA: transA, transB: transB, alpha: 0.5, beta: 1, pad: 3)
                    check(shape, transA: transA, transB: transB, alpha: 1, beta: 0.25, pad: 1)
                }
            }
        }
    }

    /// beta 0 overwrites C, NaNs included (the contract of `BLAS.sgemm`: workspaces are reused
    /// uninitialised); k 0 scales C by beta without calling oneDNN.
    func testBetaZeroOverwritesAndEmptyInnerDimension() {
        let a = testValues(4 * 3, seed: 1), b = testValues(3 * 5, seed: 2)
        var c = [Float](repeating: .nan, count: 4 * 5), expected = [Float](repeating: 0, count: 4 * 5)
        OneDNNFloat32.sgemm(transA: false, transB: false, m: 4, n: 5, k: 3, a: a, lda: 3, b: b, ldb: 5, beta: 0, c: &c, ldc: 5)
        BLAS.sgemm(transA: false, transB: false, m: 4, n: 5, k: 3, a: a, lda: 3, b: b, ldb: 5, beta: 0, c: &expected, ldc: 5)
        assertClose(c, expected, atol: 1e-6, rtol: 1e-6, "beta 0 over NaN")
        var scaled = [Float](repeating: 2, count: 4 * 5)
        OneDNNFloat32.sgemm(transA: false, transB: false, m: 4, n: 5, k: 0, a: a, lda: 3, b: b, ldb: 5, beta: 0.5, c: &scaled, ldc: 5)
        XCTAssertEqual(scaled, [Float](repeating: 1, count: 4 * 5))
    }

    /// Through `MatrixProduct` and split across slice threads (rows, then columns: each part its
    /// own oneDNN call, concurrently): the single OpenBLAS call's values within float32 re-association.
    func testParallelSplitProductsMatchOpenBLAS() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for (m, n, k) in [(200, 80, 203), (97, 81, 206), (32, 700, 96), (128, 960, 576)] {
            let a = testValues(m * k, seed: 21), b = testValues(n * k, seed: 22)
            var whole = [Float](repeating: 0, count: m * n)
            MatrixProduct.gemm(
                precision: .float32, float32Kernel: .openBLAS, transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k,
                b: b, ldb: k, beta: 0, c: &whole, ldc: n)
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                var split = [Float](repeating: .nan, count: m * n)
                split.withUnsafeMutableBufferPointer { c in
                    Parallel.sgemm(
                        float32Kernel: .oneDNN, transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                        beta: 0, c: c.baseAddress!, ldc: n)
                }
                assertClose(split, whole, atol: 1e-5, rtol: 1e-5, "(\(m), \(n), \(k)) on \(threads) threads")
            }
        }
    }

    func testKernelNamesParse() {
        XCTAssertEqual(Float32Kernel(rawValue: "onednn"), .oneDNN)
        XCTAssertEqual(Float32Kernel(rawValue: "openblas"), .openBLAS)
        XCTAssertNil(Float32Kernel(rawValue: "mkl"))
    }

    // MARK: - Helpers

    /// One product against the bound. `pad` widens every leading dimension (strided operands).
    private func check(_ shape: (m: Int, n: Int, k: Int), transA: Bool, transB: Bool, alpha: Float, beta: Float, pad: Int) {
        let (m, n, k) = shape
        let aRows = transA ? k : m, aColumns = transA ? m : k, bRows = transB ? n : k, bColumns = transB ? k : n
        let lda = aColumns + pad, ldb = bColumns + pad, ldc = n + pad
        let a = testValues(aRows * lda, seed: UInt64(m * 7 + k), scale: 2), b = testValues(bRows * ldb, seed: UInt64(n * 5 + k), scale: 3)
        let c0 = testValues(m * ldc, seed: 99)
        var c = c0
        OneDNNFloat32.sgemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
            beta: beta, c: &c, ldc: ldc)
        let eps = 0x1p-24
        for i in 0..<m {
            for j in 0..<n {
                var exact = 0.0, s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p], y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    exact += Double(x) * Double(y)
                    s += abs(Double(x) * Double(y))
                }
                let old = Double(c0[i * ldc + j]) * Double(beta), got = Double(c[i * ldc + j])
                // The old value joins with one more float32 rounding.
                let slack = (abs(old) + abs(got)) * 2 * eps + 1e-30
                let error = abs(got - old - Double(alpha) * exact)
                let bound = Double(abs(alpha)) * Double(k + 1) * eps * s + slack
                XCTAssertLessThanOrEqual(error, bound, "(\(i), \(j)) of \(shape) tA \(transA) tB \(transB)")
            }
        }
        // Padding columns of C are never written.
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j]) } }
    }
}
