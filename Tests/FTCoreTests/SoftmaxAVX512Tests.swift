@testable import FTKernels
import TestSupport
import XCTest

/// The AVX-512 masked softmax of attention rows (`ft_masked_softmax_avx512`) gives the Swift 8-lane
/// kernel's floats bit for bit, on row lengths with every tail of 8 and 16 lanes, masked keys
/// anywhere (first, last, all but one), wide and tiny score ranges; so the attention of every
/// model (float32, bf16, INT8) is unchanged by it.
final class SoftmaxAVX512Tests: XCTestCase {
    func testAVX512SoftmaxIsTheSwiftSoftmaxBitForBit() {
        var rng = Int8ProductTests.Bytes(state: 21)
        for n in [1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 33, 64, 100, 128, 129, 512] {
            for pattern in 0..<5 {
                for spread: Float in [0.01, 3, 40, 200] {
                    let scores = (0..<n).map { _ in (Float(rng.next()) / 255 - 0.5) * spread }
                    var keep = [Float](repeating: 1, count: n)
                    switch pattern {
                    case 1: for j in 0..<n where j % 3 == 1 { keep[j] = 0 }  // scattered padding
                    case 2: for j in (n / 2 + 1)..<max(n, n / 2 + 1) { keep[j] = 0 }  // trailing padding
                    case 3: for j in 0..<(n - 1) { keep[j] = 0 }  // only the last key
                    case 4: keep[0] = n > 1 ? 0 : 1  // the first key masked
                    default: break
                    }
                    var reference = scores, fast = scores
                    SelfAttention.maskedSoftmax8(&reference, keep: keep, count: n)
                    if SelfAttention.maskedSoftmaxAVX512(&fast, keep: keep, count: n) {
                        XCTAssertEqual(fast.map(\.bitPattern), reference.map(\.bitPattern), "n \(n), pattern \(pattern), spread \(spread)")
                    } else {
                        XCTAssertEqual(fast, scores, "without AVX-512 the row is left to the Swift kernel")
                    }
                }
            }
        }
    }
}
