import FTCore
import TestSupport
import XCTest

/// The fused INT8 feed-forward block (`Int8FeedForward`) gives the unfused steps' floats bit for
/// bit — first product, `GELU.forward` with the bias, second product — on every kernel and row
/// path (AVX-512, AVX2, portable), over one and several row chunks, widths not a multiple of 16
/// and ragged tails; its C GELU gives `GELU.forward`'s values bit for bit.
final class Int8FeedForwardTests: XCTestCase {
    func values(_ count: Int, seed: UInt64, scale: Float, offset: Float = 0) -> [Float] {
        var rng = Int8ProductTests.Bytes(state: seed)
        return (0..<count).map { _ in (Float(rng.next()) / 255 - 0.5) * 2 * scale + offset }
    }

    func testGELUInCIsTheSwiftGELUBitForBit() {
        // Both signs, the erf tails (|x| > 4: e^(−x²) near the exp clamp), zero and tiny values, and
        // lengths with every tail of 8 and 16 lanes.
        var x: [Float] = [0, -0.0, 1e-30, -1e-30, 1e-7, -5, 5, -9.5, 9.5, -13, 13, 40, -40, 0.5, -0.5, 3.75]
        x += (0..<2000).map { Float($0 - 1000) / 97 }
        x += values(1111, seed: 7, scale: 6)
        for n in [1, 7, 8, 9, 15, 16, 17, 31, x.count] {
            let input = Array(x.prefix(n))
            var reference = [Float](repeating: .nan, count: n)
            GELU.forward(output: &reference, input: input, count: n)
            for kernel in Int8ProductTests.kernels {
                var y = input
                Int8FeedForward.gelu(&y, count: n, kernel: kernel)
                for i in 0..<n where y[i].bitPattern != reference[i].bitPattern {
                    XCTFail("\(kernel), n \(n): GELU(\(input[i])) = \(y[i]), Swift \(reference[i])")
                    break
                }
            }
        }
    }

    func testFusedBlockEqualsTheUnfusedStepsBitForBit() {
        // (N, C, I): one row, one partial chunk, several chunks (rowChunk 128) with a ragged last one,
        // and widths not a multiple of 16.
        for (N, C, I) in [(1, 8, 12), (6, 40, 72), (300, 37, 150), (130, 64, 256)] {
            var x = values(N * C, seed: 11, scale: 1.2, offset: 0.1)
            for i in 0..<C { x[i] = 0 }  // an all-zero row
            let w1 = Int8Weights(weight: values(I * C, seed: 12, scale: 0.3), outputs: I, inputs: C)
            let w2 = Int8Weights(weight: values(C * I, seed: 13, scale: 0.3), outputs: C, inputs: I)
            let b1 = values(I, seed: 14, scale: 1), b2 = values(C, seed: 15, scale: 0.5)
            // One thread: the fused rows on the calling thread; two: rows cut over the threads above
            // 128 rows, and the unfused steps (output channels cut) below.
            for kernel in Int8ProductTests.kernels {
                for threads in [1, 2] {
                    let savedThreads = Parallel.threadCount
                    Parallel.threadCount = threads
                    defer { Parallel.threadCount = savedThreads }
                    var fused = [Float](repeating: .nan, count: N * C), reference = fused
                    Int8FeedForward.unfused(
                        output: &reference, input: x, intermediate: w1, intermediateBias: b1, outputWeight: w2, outputBias: b2,
                        rows: N, kernel: kernel)
                    Int8FeedForward.forward(
                        output: &fused, input: x, intermediate: w1, intermediateBias: b1, outputWeight: w2, outputBias: b2,
                        rows: N, kernel: kernel)
                    XCTAssertFalse(reference.contains { !$0.isFinite }, "N \(N), \(kernel)")
                    XCTAssertEqual(fused.map(\.bitPattern), reference.map(\.bitPattern), "N \(N), C \(C), I \(I), \(kernel), \(threads) threads")
                }
            }
        }
    }
}
