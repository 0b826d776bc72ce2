import FTCore
import TestSupport
import XCTest

/// Finite-difference checks of the Llama kernels' backward passes on tiny shapes (tolerances:
/// GradientCheck), and their forward passes against direct formulas.
final class LlamaKernelTests: XCTestCase {
    func testRMSNormMatchesFormulaAndGradients() {
        let N = 3, C = 11
        let x = TestTensor(testValues(N * C, seed: 1)), w = TestTensor(testValues(C, seed: 2))
        let y = TestTensor(zeros: N * C), rstd = TestTensor(zeros: N)
        let proj = LossProjection(count: N * C, seed: 3)
        func loss() -> Double {
            RMSNorm.forward(output: y.pointer, rstd: rstd.pointer, input: x.pointer, weight: w.pointer, rows: N, channels: C, epsilon: 1e-5)
            return proj.loss(y.pointer)
        }
        _ = loss()
        for r in 0..<N {
            let row = (0..<C).map { Double(x.pointer[r * C + $0]) }
            let s = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(C) + 1e-5).squareRoot()
            for i in 0..<C { XCTAssertEqual(Double(y.pointer[r * C + i]), row[i] * s * Double(w.pointer[i]), accuracy: 1e-5) }
        }
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0.5, count: C)
        RMSNorm.backward(
            dInput: &dx, dWeight: &dw, dOutput: proj.weights, input: x.pointer, rstd: rstd.pointer, weight: w.pointer,
            rows: N, channels: C)
        GradientCheck.check("dInput", parameter: x.pointer, count: x.count, analytic: dx, loss: loss)
        // dWeight accumulates onto its 0.5 start.
        GradientCheck.check("dWeight", parameter: w.pointer, count: w.count, analytic: dw.map { $0 - 0.5 }, loss: loss)
        // accumulateInput adds onto what is there.
        var dx2 = [Float](repeating: 1, count: N * C)
        RMSNorm.backward(
            dInput: &dx2, accumulateInput: true, dWeight: nil, dOutput: proj.weights, input: x.pointer, rstd: rstd.pointer,
            weight: w.pointer, rows: N, channels: C)
        for i in 0..<N * C { XCTAssertEqual(dx2[i], dx[i] + 1, accuracy: 1e-6) }
    }

    func testSwiGLUGradients() {
        let N = 3, F = 5
        let gu = TestTensor(testValues(N * 2 * F, seed: 4, scale: 2)), h = TestTensor(zeros: N * F)
        let proj = LossProjection(count: N * F, seed: 5)
        func loss() -> Double {
            SwiGLU.forward(output: h.pointer, gateUp: gu.pointer, rows: N, features: F)
            return proj.loss(h.pointer)
        }
        _ = loss()
        let g = Double(gu.pointer[0]), u = Double(gu.pointer[F])
        XCTAssertEqual(Double(h.pointer[0]), g / (1 + exp(-g)) * u, accuracy: 1e-6)
        var d = [Float](repeating: 0, count: N * 2 * F)
        SwiGLU.backward(dGateUp: &d, dOutput: proj.weights, gateUp: gu.pointer, rows: N, features: F)
        GradientCheck.check("dGateUp", parameter: gu.pointer, count: gu.count, analytic: d, loss: loss)
    }

    /// The eight-lane path (features 0 ..< 16) and the scalar tail (16 ..< 21) against the formulas
    /// in Double, over gates from −100 to 100 (saturated sigmoid at both ends): relative 1e-6.
    func testSwiGLUVectorLanesAndTailMatchTheFormulas() {
        let N = 2, F = 21
        var gu = testValues(N * 2 * F, seed: 6, scale: 8)
        gu[0] = -100
        gu[1] = 100
        gu[F - 1] = -90
        let dh = testValues(N * F, seed: 7)
        var h = [Float](repeating: .nan, count: N * F), d = [Float](repeating: .nan, count: N * 2 * F)
        SwiGLU.forward(output: &h, gateUp: gu, rows: N, features: F)
        SwiGLU.backward(dGateUp: &d, dOutput: dh, gateUp: gu, rows: N, features: F)
        for r in 0..<N {
            for i in 0..<F {
                let g = Double(gu[r * 2 * F + i]), u = Double(gu[r * 2 * F + F + i]), dy = Double(dh[r * F + i])
                let s = 1 / (1 + exp(-g))
                func close(_ got: Float, _ expected: Double, _ what: String) {
                    XCTAssertEqual(Double(got), expected, accuracy: 1e-6 * abs(expected) + 1e-30, "\(what) (\(r), \(i)) gate \(g)")
                }
                close(h[r * F + i], g * s * u, "h")
                close(d[r * 2 * F + F + i], dy * g * s, "d up")
                close(d[r * 2 * F + i], dy * u * s * (1 + g * (1 - s)), "d gate")
            }
        }
    }

    func testRotaryRotatesHalvesAndInverts() {
        let T = 5, heads = 2, D = 6, stride = 14
        var cos = [Float](repeating: 0, count: 8 * D / 2), sin = cos
        RotaryEmbedding.tables(cos: &cos, sin: &sin, positions: 8, headDimension: D, base: 10000)
        // Position 3, pair 1: angle 3 · 10000^(−2/6).
        let angle = 3 * pow(10000.0, -2.0 / 6)
        XCTAssertEqual(Double(cos[3 * 3 + 1]), Foundation.cos(angle), accuracy: 1e-6)
        XCTAssertEqual(Double(sin[3 * 3 + 1]), Foundation.sin(angle), accuracy: 1e-6)
        let original = testValues(2 * T * stride, seed: 6)
        var x = original
        RotaryEmbedding.apply(&x, rows: 2 * T, stride: stride, sequence: T, heads: heads, headDimension: D, cos: cos, sin: sin)
        // Row 7 is position 2 of the second sequence; head 1, pair 2: (i, i + D/2) = (8, 11) of the row.
        let a = Double(original[7 * stride + 6 + 2]), b = Double(original[7 * stride + 6 + 5])
        let c = Double(cos[2 * 3 + 2]), s = Double(sin[2 * 3 + 2])
        XCTAssertEqual(Double(x[7 * stride + 8]), a * c - b * s, accuracy: 1e-6)
        XCTAssertEqual(Double(x[7 * stride + 11]), b * c + a * s, accuracy: 1e-6)
        // Columns past the heads are untouched; the inverse restores the input.
        XCTAssertEqual(x[stride - 1], original[stride - 1])
        RotaryEmbedding.apply(&x, rows: 2 * T, stride: stride, sequence: T, heads: heads, headDimension: D, cos: cos, sin: sin, inverse: true)
        for i in 0..<x.count { XCTAssertEqual(x[i], original[i], accuracy: 1e-5) }
    }

    func testCausalAttentionGradientsWithGroupsAndPadding() {
        let B = 2, T = 5
        let shape = CausalAttention.Shape(heads: 4, keyValueHeads: 2, headDimension: 3)
        let W = shape.width, CO = shape.contextWidth
        let qkv = TestTensor(testValues(B * T * W, seed: 7))
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        let context = TestTensor(zeros: B * T * CO), probabilities = TestTensor(zeros: B * shape.heads * T * T)
        // Padded query rows' outputs are not read (as in training, where their labels are ignored).
        var weights = LossProjection(count: B * T * CO, seed: 8).weights
        for t in 3..<5 { for c in 0..<CO { weights[(T + t) * CO + c] = 0 } }
        func loss() -> Double {
            CausalAttention.forward(
                context: context.pointer, probabilities: probabilities.pointer, qkv: qkv.pointer, attentionMask: mask,
                batch: B, sequence: T, shape: shape)
            var sum = 0.0
            for i in 0..<weights.count { sum += Double(weights[i]) * Double(context.pointer[i]) }
            return sum
        }
        _ = loss()
        // Causality and padding: row 1 of sequence 0 attends keys 0 and 1 only; padded keys get 0.
        let p = probabilities.pointer
        XCTAssertEqual(p[1 * T + 2], 0)
        XCTAssertEqual(p[T + 0] + p[T + 1], 1, accuracy: 1e-6)
        let secondLast = (1 * shape.heads + 3) * T * T + 4 * T
        XCTAssertEqual(p[secondLast + 3], 0)
        XCTAssertEqual(p[secondLast + 4], 0)
        XCTAssertEqual(p[secondLast + 0] + p[secondLast + 1] + p[secondLast + 2], 1, accuracy: 1e-6)
        // Query head 3 reads key/value head 1: its first row is exactly v of that head at t = 0.
        for d in 0..<3 {
            XCTAssertEqual(context.pointer[3 * 3 + d], qkv.pointer[shape.valueOffset(3) + d], accuracy: 1e-6)
        }
        var dqkv = [Float](repeating: 9, count: B * T * W)
        var scratch = [Float](repeating: 0, count: B * 2 * T * T)
        CausalAttention.backward(
            dQKV: &dqkv, dContext: weights, qkv: qkv.pointer, probabilities: probabilities.pointer, scratch: &scratch,
            batch: B, sequence: T, shape: shape)
        GradientCheck.check("dQKV", parameter: qkv.pointer, count: qkv.count, analytic: dqkv, loss: loss)
    }

    func testCachedAttentionEqualsFullForward() {
        let T = 6
        let shape = CausalAttention.Shape(heads: 4, keyValueHeads: 2, headDimension: 3)
        let W = shape.width, CO = shape.contextWidth, KW = 2 * 3
        let qkv = testValues(T * W, seed: 9)
        var full = [Float](repeating: 0, count: T * CO), probabilities = [Float](repeating: 0, count: shape.heads * T * T)
        CausalAttention.forward(
            context: &full, probabilities: &probabilities, qkv: qkv, attentionMask: nil, batch: 1, sequence: T, shape: shape)
        var keys = [Float](repeating: 0, count: T * KW), values = keys
        for t in 0..<T {
            for c in 0..<KW {
                keys[t * KW + c] = qkv[t * W + 4 * 3 + c]
                values[t * KW + c] = qkv[t * W + 6 * 3 + c]
            }
        }
        // Prefill 4, then 1 and 1.
        var cached = [Float](repeating: 0, count: T * CO)
        var scratch = [Float](repeating: 0, count: shape.heads * T * T)
        var past = 0
        for n in [4, 1, 1] {
            qkv.withUnsafeBufferPointer { q in
                cached.withUnsafeMutableBufferPointer { out in
                    CausalAttention.forwardCached(
                        context: out.baseAddress! + past * CO, queries: q.baseAddress! + past * W, queryStride: W,
                        keys: keys, values: values, past: past, count: n, shape: shape, scratch: &scratch)
                }
            }
            past += n
        }
        for i in 0..<full.count { XCTAssertEqual(cached[i], full[i], accuracy: 1e-6) }
    }
}
