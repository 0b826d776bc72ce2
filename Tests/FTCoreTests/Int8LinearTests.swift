import FTCore
import TestSupport
import XCTest

/// Dynamic INT8 `Int8Linear.forward` on every kernel: against the same quantisation computed in
/// Double in the test (relative 1e-5: only the float scaling differs), and against the float32
/// layer within the bound quantisation allows per output,
/// Σᵢ (|x_i| · sw/2 + |w_i| · sx/2 + sx · sw/4) plus float32 slack.
final class Int8LinearTests: XCTestCase {
    func values(_ count: Int, seed: UInt64, scale: Float, offset: Float = 0) -> [Float] {
        var rng = Int8ProductTests.Bytes(state: seed)
        return (0..<count).map { _ in (Float(rng.next()) / 255 - 0.5) * 2 * scale + offset }
    }

    func testWeightQuantisationRoundTrips() {
        let O = 7, I = 13
        var w = values(O * I, seed: 1, scale: 0.3)
        for i in 0..<I { w[3 * I + i] = 0 }  // an all-zero channel
        let (q, s) = Int8Weights.quantize(w, outputs: O, inputs: I)
        XCTAssertEqual(s[3], 1)
        for o in 0..<O {
            XCTAssertEqual(q[(o * I)..<((o + 1) * I)].map { abs(Int($0)) }.max(), o == 3 ? 0 : 127, "channel \(o)")
            for i in 0..<I { XCTAssertLessThanOrEqual(abs(Float(q[o * I + i]) * s[o] - w[o * I + i]), s[o] / 2 * 1.0001) }
        }
        // A quantised file loaded as float32 and quantised again is unchanged.
        let dequantized = (0..<(O * I)).map { Float(q[$0]) * s[$0 / I] }
        let (q2, s2) = Int8Weights.quantize(dequantized, outputs: O, inputs: I)
        XCTAssertEqual(q2, q)
        XCTAssertEqual(s2, s)
    }

    func testForwardMatchesTheQuantisedReferenceAndTheFloatLayerWithinTheBound() {
        for kernel in Int8ProductTests.kernels {
            for (N, I, O) in [(1, 5, 3), (6, 37, 19), (33, 384, 70)] {
                // Lopsided inputs (mostly positive, like GELU's output), a row of zeros, a constant row.
                var x = values(N * I, seed: 2, scale: 1.5, offset: 0.8)
                for i in 0..<I { x[i] = 0 }
                if N > 2 { for i in 0..<I { x[2 * I + i] = -0.25 } }
                let w = values(O * I, seed: 3, scale: 0.2), bias = values(O, seed: 4, scale: 0.5)
                let weights = Int8Weights(weight: w, outputs: O, inputs: I)
                var y = [Float](repeating: .nan, count: N * O)
                Int8Linear.forward(output: &y, input: x, weight: weights, bias: bias, rows: N, kernel: kernel)

                let stride = Int8Products.paddedInputs(I)
                var qx = [UInt8](repeating: 0, count: N * stride), sx = [Float](repeating: 0, count: N)
                var zx = [Int32](repeating: 0, count: N)
                Int8Linear.quantizeRows(x, rows: N, inputs: I, quantized: &qx, scales: &sx, zeroPoints: &zx)
                for r in 0..<N {
                    let lo = min(0, x[(r * I)..<((r + 1) * I)].min()!), hi = max(0, x[(r * I)..<((r + 1) * I)].max()!)
                    // The range's ends are representable: 0 exactly, the extremes within half a step.
                    XCTAssertLessThanOrEqual(abs(sx[r] * Float(0 - zx[r]) - lo), sx[r] / 2 + 1e-6)
                    if hi > lo {
                        XCTAssertLessThanOrEqual(abs(sx[r] * Float(255 - zx[r]) - hi), sx[r] / 2 + 1e-5 * max(1, hi))
                    } else {
                        XCTAssertEqual(zx[r], 0, "an all-zero row quantises to zeros")
                    }
                    for o in 0..<O {
                        var integer: Int64 = 0, exact = Double(bias[o]), bound = 0.0
                        for i in 0..<I {
                            integer += (Int64(qx[r * stride + i]) - Int64(zx[r])) * Int64(weights.values[o * I + i])
                            exact += Double(x[r * I + i]) * Double(w[o * I + i])
                            bound +=
                                Double(abs(x[r * I + i])) * Double(weights.scales[o]) / 2 + Double(abs(w[o * I + i])) * Double(sx[r]) / 2
                                + Double(sx[r]) * Double(weights.scales[o]) / 4
                        }
                        let quantised = Double(sx[r]) * Double(weights.scales[o]) * Double(integer) + Double(bias[o])
                        let got = Double(y[r * O + o])
                        XCTAssertEqual(got, quantised, accuracy: 1e-5 * max(1, abs(quantised)), "\(kernel) \(N)×\(I)×\(O) [\(r), \(o)]")
                        XCTAssertLessThanOrEqual(abs(got - exact), bound + 1e-5 * max(1, abs(exact)), "\(kernel) [\(r), \(o)] bound")
                        if r == 0 { XCTAssertEqual(got, Double(bias[o]), accuracy: 1e-6, "a zero row gives the bias") }
                    }
                }
            }
        }
    }

    /// Every kernel gives the same floats bit for bit: the AVX-512, AVX2 and plain C quantisation and
    /// scaling (the portable kernel runs the plain C ones, the AVX2 kernel the AVX2 ones) do the same
    /// operations in the same order,
    /// and every product is the exact integer sum. Rows span three chunks (`Int8Linear.rowChunk`),
    /// inputs are not a multiple of 16 or 4.
    func testEveryKernelGivesTheSameOutputsBitForBit() {
        let N = 2 * Int8Linear.rowChunk + 37, I = 389, O = 70, stride = Int8Products.paddedInputs(I)
        var x = values(N * I, seed: 5, scale: 2, offset: 0.7)
        for i in 0..<I { x[5 * I + i] = 0 }
        x[7 * I + 3] = -30  // one outlier
        let w = values(O * I, seed: 6, scale: 0.2), bias = values(O, seed: 7, scale: 0.5)
        let weights = Int8Weights(weight: w, outputs: O, inputs: I)
        var reference: [Float]?
        for kernel in Int8ProductTests.kernels {
            var y = [Float](repeating: .nan, count: N * O)
            Int8Linear.forward(output: &y, input: x, weight: weights, bias: bias, rows: N, kernel: kernel)
            XCTAssertFalse(y.contains { $0.isNaN }, "\(kernel) wrote every output")
            if let reference { XCTAssertEqual(y, reference, "\(kernel)") } else { reference = y }
        }
        // The row quantisation alone, on each path (AVX-512, AVX2, plain C where the CPU has them).
        var plain = [UInt8](repeating: 7, count: N * stride), sPlain = [Float](repeating: 0, count: N)
        var zPlain = [Int32](repeating: 0, count: N)
        Int8Linear.quantizeRows(x, rows: N, inputs: I, quantized: &plain, scales: &sPlain, zeroPoints: &zPlain, kernel: .portable)
        XCTAssertEqual(plain[(5 * stride)..<(6 * stride)].allSatisfy { $0 == 0 }, true, "a zero row and its padding quantise to 0")
        for kernel in Int8ProductTests.kernels where kernel != .portable {
            var fast = [UInt8](repeating: 9, count: N * stride), sFast = [Float](repeating: 0, count: N)
            var zFast = [Int32](repeating: 0, count: N)
            Int8Linear.quantizeRows(x, rows: N, inputs: I, quantized: &fast, scales: &sFast, zeroPoints: &zFast, kernel: kernel)
            XCTAssertEqual(fast, plain, "\(kernel)")
            XCTAssertEqual(sFast, sPlain, "\(kernel)")
            XCTAssertEqual(zFast, zPlain, "\(kernel)")
        }
    }

    /// Called outside a slice, `forward` spreads a product over the threads — by output channels
    /// for few rows (one served text), by rows above `rowChunk` — and gives the floats of the
    /// one-thread run bit for bit on every kernel; inside a slice it stays on the slice's thread.
    /// Outputs not a multiple of 16 (ragged last part), MiniLM's query/key/value width, and rows
    /// from one token to past a chunk.
    func testThreadSplitsGiveTheOneThreadOutputsBitForBit() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for (I, O) in [(389, 70), (384, 1152)] {
            let rowCounts = O > 1000 ? [1, 16, 130] : [1, 3, 16, 128, 129, 300]
            let w = values(O * I, seed: 8, scale: 0.2), bias = values(O, seed: 9, scale: 0.5)
            let weights = Int8Weights(weight: w, outputs: O, inputs: I)
            for N in rowCounts {
                var x = values(N * I, seed: UInt64(10 + N), scale: 2, offset: 0.6)
                x[(N / 2) * I] = 25  // one outlier row
                for kernel in Int8ProductTests.kernels {
                    func run(threads: Int, insideSlice: Bool = false) -> [Float] {
                        Parallel.threadCount = threads
                        var y = [Float](repeating: .nan, count: N * O)
                        x.withUnsafeBufferPointer { x in
                            y.withUnsafeMutableBufferPointer { y in
                                let output = y.baseAddress!, input = x.baseAddress!
                                let forward = {
                                    Int8Linear.forward(output: output, input: input, weight: weights, bias: bias, rows: N, kernel: kernel)
                                }
                                if insideSlice {
                                    Parallel.forEachSlice(of: 2) { slices in if slices.contains(0) { forward() } }
                                } else {
                                    forward()
                                }
                            }
                        }
                        return y
                    }
                    let name = "\(kernel) \(N) × \(I) → \(O)"
                    Parallel.threadCount = 1
                    XCTAssertEqual(Int8Linear.split(rows: N, outputs: O), .none, name)
                    Parallel.threadCount = 2
                    XCTAssertEqual(Int8Linear.split(rows: N, outputs: O), N > Int8Linear.rowChunk ? .rows(2) : .columns(2), name)
                    let one = run(threads: 1)
                    XCTAssertFalse(one.contains { $0.isNaN }, name)
                    XCTAssertEqual(run(threads: 2), one, name + ", 2 threads")
                    XCTAssertEqual(run(threads: 2, insideSlice: true), one, name + ", inside a slice")
                }
            }
        }
        Parallel.threadCount = 2
        XCTAssertEqual(Int8Linear.split(rows: 4, outputs: 16), .none, "one 16-channel block is not cut")
        Parallel.forEachSlice(of: 2) { _ in XCTAssertEqual(Int8Linear.split(rows: 16, outputs: 384), .none, "inside a slice") }
    }
}
