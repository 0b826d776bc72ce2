import FTCore
import TestSupport
import XCTest

/// `Parallel.sgemv` (the decode step's product) against a naive loop: rows split across slices
/// at sizes that leave a partial last slice, strided weights, beta 0 and 1, alpha.
final class MatrixVectorTests: XCTestCase {
    func testMatchesANaiveProduct() {
        for (n, k, ldw) in [(577, 131, 131), (1, 64, 70), (130, 7, 9)] {
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1)] {
                let w = testValues(n * ldw, seed: 21), x = testValues(k, seed: 22), start = testValues(n, seed: 23)
                var y = start
                Parallel.sgemv(n: n, k: k, alpha: alpha, w: w, ldw: ldw, x: x, beta: beta, y: &y)
                var expected = [Float](repeating: 0, count: n)
                for i in 0..<n {
                    var sum = 0.0
                    for j in 0..<k { sum += Double(w[i * ldw + j]) * Double(x[j]) }
                    expected[i] = alpha * Float(sum) + beta * start[i]
                }
                assertClose(y, expected, atol: 1e-5, rtol: 1e-5, "n \(n) k \(k) ldw \(ldw) alpha \(alpha) beta \(beta)")
            }
        }
    }

    func testEmptyInnerDimensionScalesByBeta() {
        var y: [Float] = [1, 2, 3]
        let none: [Float] = [0]
        Parallel.sgemv(n: 3, k: 0, w: none, ldw: 1, x: none, beta: 0, y: &y)
        XCTAssertEqual(y, [0, 0, 0])
    }
}
