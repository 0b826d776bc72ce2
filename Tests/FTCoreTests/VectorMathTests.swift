import FTCore
import Foundation
import XCTest

final class VectorMathTests: XCTestCase {
    func testExpWithinTwoUlpOfLibm() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let v = VectorMath.exp(VectorMath.Vector(repeating: x))
            let expected = Foundation.exp(x)
            worst = max(worst, abs(v[3] - expected) / expected.ulp)
            x += 0.0137
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error in ulps")
        XCTAssertEqual(VectorMath.exp(.zero)[0], 1)
    }

    func testReductionsMatchLoops() {
        let values = (0..<37).map { Float(($0 * 7919) % 101) / 10 - 5 }
        let other = values.reversed().map { $0 * 0.5 }
        XCTAssertEqual(VectorMath.sum(values, values.count), values.reduce(0, +), accuracy: 1e-4)
        XCTAssertEqual(VectorMath.dot(values, other, values.count), zip(values, other).map(*).reduce(0, +), accuracy: 1e-4)
        XCTAssertEqual(VectorMath.max(values, values.count), values.max()!)
        XCTAssertEqual(VectorMath.max(values, 0), -.infinity)
        var y = values
        VectorMath.add(&y, other, values.count)
        XCTAssertEqual(y, zip(values, other).map(+))
    }
}
