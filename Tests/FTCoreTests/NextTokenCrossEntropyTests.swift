import FTCore
import TestSupport
import XCTest

/// The causal-LM loss kernel against `SoftmaxCrossEntropy` (PyTorch's mean cross-entropy) on the
/// rows that have a target, ignored rows giving zero gradients, and the in-place gradient.
final class NextTokenCrossEntropyTests: XCTestCase {
    func testMatchesSoftmaxCrossEntropyWithIgnoredRowsAndInPlaceGradient() {
        // 1003 classes: not a multiple of the vector width, so the scalar tails run too.
        let N = 7, V = 1003
        let logits = testValues(N * V, seed: 5, scale: 6)
        let targets: [Int32] = [3, -100, 1002, 0, 517, -100, 8]
        let kept = (0..<N).filter { targets[$0] >= 0 }
        let keptLogits = kept.flatMap { Array(logits[$0 * V..<($0 + 1) * V]) }
        let keptLabels = kept.map { targets[$0] }
        var expectedGradient = [Float](repeating: 0, count: kept.count * V)
        let expected = SoftmaxCrossEntropy.forward(
            logits: keptLogits, labels: keptLabels, batch: kept.count, classes: V, dLogits: &expectedGradient)
        XCTAssertEqual(NextTokenCrossEntropy.targetCount(targets, rows: N), kept.count)

        for threads in [1, 3] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            var inPlace = logits
            let sum = inPlace.withUnsafeMutableBufferPointer { p in
                NextTokenCrossEntropy.forward(
                    logits: p.baseAddress!, targets: targets, rows: N, classes: V, denominator: kept.count, dLogits: p.baseAddress!)
            }
            XCTAssertEqual(Float(sum / Double(kept.count)), expected, accuracy: 1e-5)
            for (i, n) in kept.enumerated() {
                assertClose(
                    Array(inPlace[n * V..<(n + 1) * V]), Array(expectedGradient[i * V..<(i + 1) * V]), atol: 1e-7, rtol: 1e-4, "gradient row \(n)")
            }
            for n in 0..<N where targets[n] < 0 {
                XCTAssertTrue(inPlace[n * V..<(n + 1) * V].allSatisfy { $0 == 0 }, "row \(n) has no target")
            }
            // Without a gradient the logits are left alone.
            var untouched = logits
            let lossOnly = untouched.withUnsafeMutableBufferPointer { p in
                NextTokenCrossEntropy.forward(
                    logits: p.baseAddress!, targets: targets, rows: N, classes: V, denominator: kept.count, dLogits: nil)
            }
            XCTAssertEqual(lossOnly, sum)
            XCTAssertEqual(untouched, logits)
        }
    }
}
