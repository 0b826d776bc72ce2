import FTCore
import TestSupport
import XCTest

/// The sgemm wrapper against a naive Double loop, in every transpose combination and with
/// strided (leading-dimension) operands as attention uses them.
final class BLASTests: XCTestCase {
    func testAllTransposeCombinations() {
        let m = 5, n = 7, k = 3
        for transA in [false, true] {
            for transB in [false, true] {
                let a = testValues(m * k, seed: 1), b = testValues(k * n, seed: 2)
                var c = [Float](repeating: 0, count: m * n)
                BLAS.sgemm(
                    transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: transA ? m : k,
                    b: b, ldb: transB ? k : n, beta: 0, c: &c, ldc: n)
                let expected = NaiveMath.matmul(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b)
                assertClose(c, expected, atol: 1e-6, rtol: 1e-5, "transA \(transA) transB \(transB)")
            }
        }
    }

    func testBetaOneAccumulatesAndAlphaScales() {
        let a = testValues(6, seed: 3), b = testValues(6, seed: 4)
        var c = [Float](repeating: 2, count: 4)
        BLAS.sgemm(
            transA: false, transB: false, m: 2, n: 2, k: 3, alpha: 0.5, a: a, lda: 3, b: b, ldb: 2,
            beta: 1, c: &c, ldc: 2)
        let expected = NaiveMath.matmul(transA: false, transB: false, m: 2, n: 2, k: 3, a: a, b: b).map { 2 + 0.5 * $0 }
        assertClose(c, expected, atol: 1e-6, rtol: 1e-5, "alpha 0.5, beta 1")
    }

    func testStridedOperands() {
        // A is the left 2 columns of a (3, 4) matrix; C the right 3 columns of a (3, 5) one.
        let big = testValues(12, seed: 5), b = testValues(6, seed: 6)
        var c = [Float](repeating: 9, count: 15)
        BLAS.sgemm(
            transA: false, transB: false, m: 3, n: 3, k: 2, a: big, lda: 4, b: b, ldb: 3, beta: 0,
            c: UnsafeMutablePointer(mutating: c.withUnsafeMutableBufferPointer { $0.baseAddress! + 2 }), ldc: 5)
        let a = (0..<3).flatMap { [big[$0 * 4], big[$0 * 4 + 1]] }
        let expected = NaiveMath.matmul(transA: false, transB: false, m: 3, n: 3, k: 2, a: a, b: b)
        for i in 0..<3 {
            XCTAssertEqual(c[i * 5], 9)
            XCTAssertEqual(c[i * 5 + 1], 9)  // untouched
            assertClose(Array(c[(i * 5 + 2)..<(i * 5 + 5)]), Array(expected[(i * 3)..<(i * 3 + 3)]), atol: 1e-6, rtol: 1e-5, "row \(i)")
        }
    }

    func testEmptyInnerDimensionScalesByBeta() {
        var c: [Float] = [1, 2, 3, 4]
        let none: [Float] = [0]
        BLAS.sgemm(transA: false, transB: false, m: 2, n: 2, k: 0, a: none, lda: 1, b: none, ldb: 2, beta: 0, c: &c, ldc: 2)
        XCTAssertEqual(c, [0, 0, 0, 0])
    }
}
