import FTCore
import TestSupport
import XCTest

/// `PreparedLinear.forward` (oneDNN f32 matmul on weights reordered once, one part per thread)
/// against `Linear.forward` (OpenBLAS) on the same inputs: equal up to float32 re-association,
/// over row counts from one token to more than a 128-row block, outputs that are not a multiple of
/// the 16-column split or oneDNN's 64-column block, with and without a bias, on 1 and 2 threads and
/// from inside a slice (parts one after the other); and the per-thread primitives reused across
/// calls of different row counts.
final class PreparedLinearTests: XCTestCase {
    /// (outputs, inputs): MiniLM's query/key/value and feed-forward output, and ragged small ones.
    static let shapes = [(1152, 384), (384, 1536), (37, 20), (200, 48), (16, 8)]
    static let rowCounts = [1, 3, 16, 64, 130]

    func reference(_ x: [Float], _ w: [Float], _ bias: [Float]?, rows: Int, outputs: Int, inputs: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * outputs)
        Linear.forward(output: &y, input: x, weight: w, bias: bias, rows: rows, inputs: inputs, outputs: outputs)
        return y
    }

    func prepared(_ x: [Float], _ weights: PreparedFloat32Weights, _ bias: [Float]?, rows: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * weights.outputs)
        if let bias {
            PreparedLinear.forward(output: &y, input: x, weights: weights, bias: bias, rows: rows)
        } else {
            PreparedLinear.forward(output: &y, input: x, weights: weights, bias: nil, rows: rows)
        }
        return y
    }

    func testPreparedProductsMatchOpenBLAS() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for (outputs, inputs) in Self.shapes {
                let w = testValues(outputs * inputs, seed: UInt64(outputs), scale: 0.1)
                let bias = testValues(outputs, seed: 5)
                let weights = try XCTUnwrap(PreparedFloat32Weights(weight: w, outputs: outputs, inputs: inputs))
                XCTAssertEqual(weights.partCount, min(threads, (outputs + 15) / 16), "\(outputs) × \(inputs) parts")
                // MiniLM's own shapes at the serving row counts; every row count on the small ones.
                for rows in outputs * inputs > 100_000 ? [1, 16] : Self.rowCounts {
                    let x = testValues(rows * inputs, seed: UInt64(rows + inputs))
                    let name = "\(rows) × \(inputs) → \(outputs), \(threads) threads"
                    // Sums of up to 1536 products of magnitude ≲ 0.1: float32 re-association stays near 1e-6.
                    assertClose(
                        prepared(x, weights, bias, rows: rows), reference(x, w, bias, rows: rows, outputs: outputs, inputs: inputs),
                        atol: 1e-5, rtol: 1e-5, name + ", bias")
                    assertClose(
                        prepared(x, weights, nil, rows: rows), reference(x, w, nil, rows: rows, outputs: outputs, inputs: inputs),
                        atol: 1e-5, rtol: 1e-5, name + ", no bias")
                }
            }
        }
    }

    /// Inside a slice (a batch's sequences already spread over the threads) every part runs on the
    /// slice's own thread; each slice writes its own rows.
    func testPartsRunInsideSlices() throws {
        let saved = Parallel.threadCount
        Parallel.threadCount = 2
        defer { Parallel.threadCount = saved }
        let (outputs, inputs, rows) = (96, 40, 10)
        let w = testValues(outputs * inputs, seed: 1, scale: 0.1), bias = testValues(outputs, seed: 2)
        let weights = try XCTUnwrap(PreparedFloat32Weights(weight: w, outputs: outputs, inputs: inputs))
        XCTAssertEqual(weights.partCount, 2)
        let x = testValues(2 * rows * inputs, seed: 3)
        var y = [Float](repeating: .nan, count: 2 * rows * outputs)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                Parallel.forEachSlice(of: 2) { slices in
                    for s in slices {
                        PreparedLinear.forward(
                            output: y.baseAddress! + s * rows * outputs, input: x.baseAddress! + s * rows * inputs, weights: weights,
                            bias: bias, rows: rows)
                    }
                }
            }
        }
        assertClose(y, reference(x, w, bias, rows: 2 * rows, outputs: outputs, inputs: inputs), atol: 1e-5, rtol: 1e-5, "two slices")
    }
}
