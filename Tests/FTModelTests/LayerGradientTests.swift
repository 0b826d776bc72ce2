import FTCore
@testable import FTModel
import TestSupport
import XCTest

/// Finite-difference checks of every layer's backward on tiny shapes (tolerances: GradientCheck).
final class LayerGradientTests: XCTestCase {
    func testLinear() {
        let N = 3, I = 4, O = 5
        let x = TestTensor(testValues(N * I, seed: 1)), w = TestTensor(testValues(O * I, seed: 2)), b = TestTensor(testValues(O, seed: 3))
        let y = TestTensor(zeros: N * O)
        let proj = LossProjection(count: N * O, seed: 4)
        func loss() -> Double {
            Linear.forward(output: y.pointer, input: x.pointer, weight: w.pointer, bias: b.pointer, rows: N, inputs: I, outputs: O)
            return proj.loss(y.pointer)
        }
        _ = loss()
        var dx = [Float](repeating: 0, count: N * I), dw = [Float](repeating: 0, count: O * I)
        var db = [Float](repeating: 0, count: O)
        Linear.backward(
            dInput: &dx, dWeight: &dw, dBias: &db, dOutput: proj.weights, input: x.pointer, weight: w.pointer,
            rows: N, inputs: I, outputs: O)
        GradientCheck.check("dInput", parameter: x.pointer, count: x.count, analytic: dx, loss: loss)
        GradientCheck.check("dWeight", parameter: w.pointer, count: w.count, analytic: dw, loss: loss)
        GradientCheck.check("dBias", parameter: b.pointer, count: b.count, analytic: db, loss: loss)
    }

    func testLinearBackwardAccumulates() {
        let N = 2, I = 3, O = 2
        let x = testValues(N * I, seed: 1), w = testValues(O * I, seed: 2), dy = testValues(N * O, seed: 3)
        var dx = [Float](repeating: 1, count: N * I), dw = [Float](repeating: 1, count: O * I)
        var db = [Float](repeating: 1, count: O)
        Linear.backward(
            dInput: &dx, accumulateInput: true, dWeight: &dw, dBias: &db, dOutput: dy, input: x,
            weight: w, rows: N, inputs: I, outputs: O)
        let expectedDx = NaiveMath.matmul(transA: false, transB: false, m: N, n: I, k: O, a: dy, b: w).map { $0 + 1 }
        let expectedDw = NaiveMath.matmul(transA: true, transB: false, m: O, n: I, k: N, a: dy, b: x).map { $0 + 1 }
        assertClose(dx, expectedDx, atol: 1e-6, rtol: 1e-5, "dInput accumulated")
        assertClose(dw, expectedDw, atol: 1e-6, rtol: 1e-5, "dWeight accumulated")
        assertClose(db, [1 + dy[0] + dy[2], 1 + dy[1] + dy[3]], atol: 1e-6, rtol: 1e-5, "dBias accumulated")
    }

    func testLayerNorm() {
        let N = 3, C = 6
        let x = TestTensor(testValues(N * C, seed: 5, scale: 2)), g = TestTensor(testValues(C, seed: 6).map { 1 + $0 / 2 })
        let beta = TestTensor(testValues(C, seed: 7))
        let y = TestTensor(zeros: N * C), mean = TestTensor(zeros: N), rstd = TestTensor(zeros: N)
        let proj = LossProjection(count: N * C, seed: 8)
        func loss() -> Double {
            LayerNorm.forward(
                output: y.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.pointer, gamma: g.pointer,
                beta: beta.pointer, rows: N, channels: C, epsilon: 1e-12)
            return proj.loss(y.pointer)
        }
        _ = loss()
        var dx = [Float](repeating: 0, count: N * C), dg = [Float](repeating: 0, count: C)
        var db = [Float](repeating: 0, count: C)
        LayerNorm.backward(
            dInput: &dx, dGamma: &dg, dBeta: &db, dOutput: proj.weights, input: x.pointer, mean: mean.pointer,
            rstd: rstd.pointer, gamma: g.pointer, rows: N, channels: C)
        GradientCheck.check("dInput", parameter: x.pointer, count: x.count, analytic: dx, loss: loss)
        GradientCheck.check("dGamma", parameter: g.pointer, count: g.count, analytic: dg, loss: loss)
        GradientCheck.check("dBeta", parameter: beta.pointer, count: beta.count, analytic: db, loss: loss)
    }

    func testGELUAndTanh() {
        let n = 16
        let x = TestTensor(testValues(n, seed: 9, scale: 3))
        let y = TestTensor(zeros: n)
        let proj = LossProjection(count: n, seed: 10)
        func geluLoss() -> Double {
            GELU.forward(output: y.pointer, input: x.pointer, count: n)
            return proj.loss(y.pointer)
        }
        var dx = [Float](repeating: 0, count: n)
        GELU.backward(dInput: &dx, dOutput: proj.weights, input: x.pointer, count: n)
        GradientCheck.check("GELU", parameter: x.pointer, count: n, analytic: dx, loss: geluLoss)
        // Exact GELU, not the tanh approximation: GELU(1) = Φ(1) = 0.8413447.
        var one: [Float] = [1], out: [Float] = [0]
        GELU.forward(output: &out, input: &one, count: 1)
        XCTAssertEqual(out[0], 0.8413447, accuracy: 1e-6)

        func tanhLoss() -> Double {
            Tanh.forward(output: y.pointer, input: x.pointer, count: n)
            return proj.loss(y.pointer)
        }
        _ = tanhLoss()
        Tanh.backward(dInput: &dx, dOutput: proj.weights, output: y.pointer, count: n)
        GradientCheck.check("Tanh", parameter: x.pointer, count: n, analytic: dx, loss: tanhLoss)
    }

    /// The feed-forward's fused bias + GELU gives the very floats of a biased product then GELU,
    /// leaves the product as it was, and its backward equals GELU's backward at the biased input.
    func testBiasedGELUEqualsProductBiasThenGELU() {
        let rows = 37, inputs = 5, columns = 21  // odd widths: every row ends in a partial vector
        let x = testValues(rows * inputs, seed: 31), w = testValues(columns * inputs, seed: 32)
        let b = testValues(columns, seed: 33, scale: 2)
        var withBias = [Float](repeating: 0, count: rows * columns), expected = withBias
        Linear.forward(output: &withBias, input: x, weight: w, bias: b, rows: rows, inputs: inputs, outputs: columns)
        GELU.forward(output: &expected, input: withBias, count: rows * columns)
        var product = [Float](repeating: 0, count: rows * columns), fused = product
        Linear.forward(output: &product, input: x, weight: w, bias: nil, rows: rows, inputs: inputs, outputs: columns)
        let productBefore = product
        GELU.forward(output: &fused, input: product, bias: b, rows: rows, columns: columns)
        XCTAssertEqual(fused, expected)
        XCTAssertEqual(product, productBefore)

        let dOutput = testValues(rows * columns, seed: 34)
        var dExpected = [Float](repeating: 0, count: rows * columns), dFused = dExpected
        GELU.backward(dInput: &dExpected, dOutput: dOutput, input: withBias, count: rows * columns)
        GELU.backward(dInput: &dFused, dOutput: dOutput, input: product, bias: b, rows: rows, columns: columns)
        XCTAssertEqual(dFused, dExpected)
        XCTAssertNotEqual(dFused, dOutput)
    }

    func testSoftmaxCrossEntropy() {
        let B = 4, L = 3
        let logits = TestTensor(testValues(B * L, seed: 11, scale: 2))
        let labels: [Int32] = [0, 2, 1, 2]
        let weights: [Float] = [0.5, 2, 1]
        for classWeights in [nil, weights] {
            func loss() -> Double {
                Double(
                    classWeights.withOptionalPointer { w in
                        SoftmaxCrossEntropy.forward(logits: logits.pointer, labels: labels, classWeights: w, batch: B, classes: L)
                    })
            }
            var d = [Float](repeating: 0, count: B * L)
            _ = classWeights.withOptionalPointer { w in
                SoftmaxCrossEntropy.forward(logits: logits.pointer, labels: labels, classWeights: w, batch: B, classes: L, dLogits: &d)
            }
            GradientCheck.check(
                "dLogits", parameter: logits.pointer, count: logits.count, analytic: d, h: 1e-2,
                atol: 1e-4, rtol: 1e-2, loss: loss)
        }
    }

    func testSelfAttentionWithPadding() {
        let B = 2, T = 4, C = 6, NH = 2
        let qkv = TestTensor(testValues(B * T * 3 * C, seed: 12, scale: 1.5))
        let mask: [Int32] = [1, 1, 1, 0, 1, 1, 0, 0]
        var context = [Float](repeating: 0, count: B * T * C)
        var probs = [Float](repeating: 0, count: B * NH * T * T)
        let proj = LossProjection(count: B * T * C, seed: 13)
        func loss() -> Double {
            SelfAttention.forward(
                context: &context, probabilities: &probs, qkv: qkv.pointer, attentionMask: mask,
                batch: B, sequence: T, channels: C, heads: NH)
            return proj.loss(context)
        }
        _ = loss()
        // Masked keys get exactly zero probability; each row sums to 1.
        for b in 0..<B {
            for h in 0..<NH {
                for i in 0..<T {
                    let row = Array(probs[((b * NH + h) * T + i) * T..<((b * NH + h) * T + i + 1) * T])
                    XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-6)
                    for j in 0..<T where mask[b * T + j] == 0 { XCTAssertEqual(row[j], 0) }
                }
            }
        }
        var dqkv = [Float](repeating: 0, count: qkv.count), scratch = [Float](repeating: 0, count: B * T * T)
        SelfAttention.backward(
            dQKV: &dqkv, dContext: proj.weights, qkv: qkv.pointer, probabilities: probs, scratch: &scratch,
            batch: B, sequence: T, channels: C, heads: NH)
        GradientCheck.check("dQKV", parameter: qkv.pointer, count: qkv.count, analytic: dqkv, loss: loss)
    }

    func testEmbeddingSum() {
        let B = 2, T = 3, C = 4, V = 5, P = 4, TV = 2
        let word = TestTensor(testValues(V * C, seed: 14)), pos = TestTensor(testValues(P * C, seed: 15))
        let type = TestTensor(testValues(TV * C, seed: 16))
        let ids: [Int32] = [1, 4, 1, 0, 2, 3], types: [Int32] = [0, 0, 1, 1, 0, 1]
        var out = [Float](repeating: 0, count: B * T * C)
        let proj = LossProjection(count: out.count, seed: 17)
        func loss() -> Double {
            EmbeddingSum.forward(
                output: &out, inputIds: ids, tokenTypeIds: types, word: word.pointer,
                position: pos.pointer, tokenType: type.pointer, batch: B, sequence: T, channels: C)
            return proj.loss(out)
        }
        var dw = [Float](repeating: 0, count: word.count), dp = [Float](repeating: 0, count: pos.count)
        var dt = [Float](repeating: 0, count: type.count)
        EmbeddingSum.backward(
            dWord: &dw, dPosition: &dp, dTokenType: &dt, dOutput: proj.weights,
            inputIds: ids, tokenTypeIds: types, batch: B, sequence: T, channels: C)
        GradientCheck.check("dWord", parameter: word.pointer, count: word.count, analytic: dw, loss: loss)
        GradientCheck.check("dPosition", parameter: pos.pointer, count: pos.count, analytic: dp, loss: loss)
        GradientCheck.check("dTokenType", parameter: type.pointer, count: type.count, analytic: dt, loss: loss)
    }

    /// The whole encoder + pooler + head, through every backward path (logits, pooled, all tokens).
    func testWholeModel() throws {
        let config = EncoderConfig(
            vocabSize: 11, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
            intermediateSize: 12, maxPositionEmbeddings: 6)
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 3)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.5)
        for view in model.store.views where view.name.hasSuffix("bias") || view.name.contains("LayerNorm") {
            let p = model.store.value(view.name)
            for i in 0..<view.count { p[i] += 0.3 * rng.nextNormal() }
        }
        let B = 2, T = 4, C = 8
        let ids: [Int32] = [2, 5, 7, 1, 3, 9, 0, 0], types: [Int32] = [0, 0, 1, 1, 0, 0, 0, 0]
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 0, 0]
        let hiddenProjection = LossProjection(count: B * T * C, seed: 21)
        let pooledProjection = LossProjection(count: B * C, seed: 22)
        let logitProjection = LossProjection(count: B * 3, seed: 23)
        func loss() -> Double {
            let out = try! model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask,
                batch: B, sequence: T, training: true)
            return hiddenProjection.loss(out.lastHiddenState) + pooledProjection.loss(out.pooled!)
                + logitProjection.loss(out.logits!)
        }
        _ = loss()
        model.store.zeroGradients()
        model.backward(
            dLogits: logitProjection.weights, dPooled: pooledProjection.weights,
            dLastHiddenState: hiddenProjection.weights)
        for view in model.store.views {
            if view.name == config.family.names.wordEmbeddings {
                // Row pad_token_id (0) gets no gradient, as PyTorch's nn.Embedding(padding_idx=0);
                // the padded positions' outputs would otherwise reach it. The other rows are checked.
                let gradient = model.store.gradientArray(view.name)
                XCTAssertEqual(Array(gradient[0..<C]), [Float](repeating: 0, count: C), "the padding row has no gradient")
                GradientCheck.check(
                    view.name, parameter: model.store.value(view.name) + C, count: view.count - C,
                    analytic: Array(gradient[C...]), loss: loss)
                continue
            }
            GradientCheck.check(
                view.name, parameter: model.store.value(view.name), count: view.count,
                analytic: model.store.gradientArray(view.name), loss: loss)
        }
    }
}

/// Slicing a step across threads (`Parallel`: batch slices in forward and attention, row and
/// feature splits of the products, per-slice layer-norm sums) changes no result beyond rounding.
final class ThreadedStepTests: XCTestCase {
    func testTwoThreadsGiveTheOneThreadStep() throws {
        var config = EncoderConfig(
            vocabSize: 50, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
            intermediateSize: 64, maxPositionEmbeddings: 16)
        config.hiddenDropoutProb = 0.1
        config.attentionProbsDropoutProb = 0.1
        let B = 6, T = 16
        var rng = SeededRNG(seed: 8)
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let types = [Int32](repeating: 0, count: B * T)
        let mask = (0..<(B * T)).map { Int32($0 % T < T - $0 / T ? 1 : 0) }  // sequence b has T − b tokens
        let dLogits = testValues(B * 3, seed: 9), dHidden = testValues(B * T * 32, seed: 10)
        func step(threads: Int) throws -> (logits: [Float], gradients: [Float]) {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            let model = try EncoderModel(config: config, numLabels: 3)
            var weightsRNG = SeededRNG(seed: 3)
            model.initializeRandomly(rng: &weightsRNG, standardDeviation: 0.2)
            let out = try model.forward(
                inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T,
                training: true, dropoutSeed: 42)
            let logits = Array(UnsafeBufferPointer(start: out.logits!, count: B * 3))
            model.store.zeroGradients()
            model.backward(dLogits: dLogits, dLastHiddenState: dHidden)
            return (logits, model.store.views.flatMap { model.store.gradientArray($0.name) })
        }
        let one = try step(threads: 1), two = try step(threads: 2)
        assertClose(two.logits, one.logits, atol: 1e-6, rtol: 1e-5, "logits")
        // Per tensor, the absolute tolerance scales with the tensor's largest gradient: the
        // gradients here reach 24 (dLastHiddenState is not small), and float32 sums of such terms
        // in another order differ by ~1e-7 of that scale, which a fixed 1e-6 does not allow for
        // small elements (at 36e3518 two elements of 20483 failed it on this machine's OpenBLAS).
        var offset = 0
        for view in try EncoderModel(config: config, numLabels: 3).store.views {
            let range = offset..<(offset + view.count)
            let scale = one.gradients[range].map(abs).max() ?? 0
            assertClose(Array(two.gradients[range]), Array(one.gradients[range]), atol: 1e-6 * max(1, scale), rtol: 1e-4, view.name)
            offset += view.count
        }
        XCTAssertGreaterThan(one.gradients.map(abs).max() ?? 0, 0)
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's storage, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
