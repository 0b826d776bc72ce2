@testable import FTTrain
import TestSupport
import XCTest

/// `clip_grad_norm_` against values printed by torch 2.15:
///
///     p = torch.nn.Parameter(torch.zeros(2))
///     for g in ([3.0, 4.0], [0.3, 0.4], [0.6, 0.8], [float('nan'), 0.8]):
///         p.grad = torch.tensor(g); n = torch.nn.utils.clip_grad_norm_([p], 1.0)
///         print(repr(n.item()), [repr(x) for x in p.grad.tolist()])
///     # 5.0 ['0.5999999046325684', '0.7999998331069946']
///     # 0.5 ['0.30000001192092896', '0.4000000059604645']
///     # 1.0 ['0.5999994277954102', '0.7999992370605469']   (at max_norm: scaled by 1/(1 + 1e-6))
///     # nan ['nan', 'nan']
final class OptimClippingTests: XCTestCase {
    private func clip(_ g: [Float], maxNorm: Double = 1.0) -> (norm: Float, clipped: [Float]) {
        var g = g
        let norm = g.withUnsafeMutableBufferPointer { GradientClipping.clipByGlobalNorm($0, maxNorm: maxNorm) }
        return (norm, g)
    }

    func testClipsWhenAboveMaxNorm() {
        let (norm, g) = clip([3, 4])
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(g, [0.5999999046325684, 0.7999998331069946])  // torch's bits
    }

    func testLeavesGradientsAloneBelowMaxNorm() {
        let (norm, g) = clip([0.3, 0.4])
        XCTAssertEqual(norm, 0.5)
        XCTAssertEqual(g, [0.3, 0.4])
    }

    func testScalesSlightlyAtExactlyMaxNorm() {
        let (norm, g) = clip([0.6, 0.8])
        XCTAssertEqual(norm, 1.0)
        XCTAssertEqual(g, [0.5999994277954102, 0.7999992370605469])
    }

    func testNaNPropagatesAsInTorch() {
        let (norm, g) = clip([.nan, 0.8])
        XCTAssertTrue(norm.isNaN)
        XCTAssertTrue(g.allSatisfy(\.isNaN))
    }

    /// Many blocks: the norm matches a Double reference and the clipped norm is max_norm.
    func testLargeBufferNormAndResult() {
        let values = testValues(3 * GradientClipping.blockSize + 17, seed: 5, scale: 0.1)
        let reference = values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let (norm, g) = clip(values, maxNorm: 2.5)
        XCTAssertEqual(Double(norm), reference, accuracy: reference * 1e-6)
        let after = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(after, 2.5, accuracy: 1e-5)
        values.withUnsafeBufferPointer { XCTAssertEqual(GradientClipping.globalNorm($0), norm) }
    }

    func testEmptyBuffer() {
        let (norm, g) = clip([])
        XCTAssertEqual(norm, 0)
        XCTAssertEqual(g, [])
    }
}
