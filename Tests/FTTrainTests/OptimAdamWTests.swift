import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

final class OptimAdamWTests: XCTestCase {
    // MARK: - By hand

    /// One step by hand (β1 0.9, β2 0.999, ε 1e-8, λ 0.1, lr 0.01), decay on the first two
    /// elements only. At t = 1 the bias corrections make m̂ = g and v̂ = g², so each element moves
    /// by −lr·g/(|g| + ε) after decay:
    ///   p0 =  1.0·(1 − 0.001) − 0.01·0.5/(0.5 + 1e-8) = 0.989 (+2e-10)
    ///   p1 = −2.0·(1 − 0.001) + 0.01                   = −1.988
    ///   p2 =  0.5 − 0.01 (no decay)                     = 0.49
    ///   p3 =  3.0 (g = 0: m = v = 0, update 0/ε = 0; no decay)
    func testOneStepByHandWithDecayMask() {
        let optimizer = AdamW(parameterCount: 4, weightDecay: 0.1, decayRanges: [0..<2])
        var p: [Float] = [1.0, -2.0, 0.5, 3.0]
        let g: [Float] = [0.5, -1.0, 2.0, 0.0]
        step(optimizer, &p, g, lr: 0.01)
        assertClose(p, [0.989, -1.988, 0.49, 3.0], atol: 1e-6, rtol: 0, "p after step 1")
        XCTAssertEqual(p[3], 3.0, "no gradient and no decay: untouched")
        assertClose(Array(optimizer.firstMoment), [0.05, -0.1, 0.2, 0], atol: 1e-8, rtol: 1e-6, "m = (1 − β1)·g")
        assertClose(Array(optimizer.secondMoment), [0.00025, 0.001, 0.004, 0], atol: 1e-10, rtol: 1e-6, "v = (1 − β2)·g²")
        XCTAssertEqual(optimizer.stepCount, 1)
    }

    /// Three steps against the formula evaluated in Double, with moving learning rates; the mask
    /// given as views of a store.
    func testStepsMatchDoubleFormula() {
        let store = ParameterStore(layout: [("dense.weight", [3]), ("dense.bias", [2]), ("LayerNorm.weight", [2])])
        let optimizer = AdamW(store: store, weightDecay: 0.05, decaying: WeightDecayMask.huggingFace(store))
        XCTAssertEqual(optimizer.decayRanges, [0..<3])
        let start: [Float] = [0.3, -1.2, 2.0, 0.1, -0.4, 1.1, 0.9]
        store.values.baseAddress!.update(from: start, count: 7)
        var p = start.map(Double.init), m = [Double](repeating: 0, count: 7), v = m
        let grads: [[Float]] = [
            [0.2, -0.7, 1.5, 0.01, -3.0, 0.5, 0.0],
            [-0.1, -0.6, 1.0, 0.02, 2.0, -0.5, 1e-3],
            [0.3, 0.1, -2.0, -0.03, 1.0, 0.25, 0.0],
        ]
        let lrs = [1e-2, 2e-2, 5e-3]
        for (s, g) in grads.enumerated() {
            store.gradients.baseAddress!.update(from: g, count: 7)
            optimizer.step(store, learningRate: lrs[s])
            let t = Double(s + 1)
            for i in 0..<7 {
                if i < 3 { p[i] *= 1 - lrs[s] * 0.05 }
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mHat = m[i] / (1 - pow(0.9, t)), vHat = v[i] / (1 - pow(0.999, t))
                p[i] -= lrs[s] * mHat / (vHat.squareRoot() + 1e-8)
            }
            assertClose(
                store.valueArray("dense.weight") + store.valueArray("dense.bias") + store.valueArray("LayerNorm.weight"),
                p.map(Float.init), atol: 1e-6, rtol: 1e-6, "p after step \(s + 1)")
        }
    }

    /// The eight-wide body and the scalar tail give the same bits: the same buffer stepped in one
    /// call (vectors plus a tail) and element by element (tail only), for both lerp forms.
    func testVectorBodyEqualsScalarTail() {
        let n = 43  // five vectors and a tail of three
        for lerpWeight: Float in [0.1, 0.7] {
            let scalars = AdamWKernel.Scalars(
                decayFactor: 0.999, lerpWeight: lerpWeight, beta2: 0.999, oneMinusBeta2: 0.001,
                biasCorrection2Sqrt: 0.0447, epsilon: 1e-8, negativeStepSize: -0.013)
            let g = testValues(n, seed: 41, scale: 3)
            var p1 = testValues(n, seed: 42), m1 = testValues(n, seed: 43, scale: 0.1)
            var v1 = testValues(n, seed: 44).map { $0 * $0 }
            var p2 = p1, m2 = m1, v2 = v1
            AdamWKernel.update(&p1, g, &m1, &v1, count: n, scalars, decay: true)
            for i in 0..<n {
                p2.withUnsafeMutableBufferPointer { p in
                    m2.withUnsafeMutableBufferPointer { m in
                        v2.withUnsafeMutableBufferPointer { v in
                            g.withUnsafeBufferPointer { g in
                                AdamWKernel.update(
                                    p.baseAddress! + i, g.baseAddress! + i, m.baseAddress! + i, v.baseAddress! + i,
                                    count: 1, scalars, decay: true)
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(p1, p2, "p, lerp weight \(lerpWeight)")
            XCTAssertEqual(m1, m2, "m, lerp weight \(lerpWeight)")
            XCTAssertEqual(v1, v2, "v, lerp weight \(lerpWeight)")
            XCTAssertNotEqual(p1, testValues(n, seed: 42))
        }
    }

    // MARK: - Against PyTorch

    /// Six steps on two tensors (decayed and not; zero gradients, gradients far below ε, lr 0)
    /// against `torch.optim.AdamW` from make_training_reference.py, for β1 0.9 and β1 0.3 (the
    /// other branch of torch's lerp).
    ///
    /// Against `foreach=False` (torch's single-tensor path, what the hand loop of the training
    /// reference runs): the moments bitwise; the parameters within `ulp(p) + 1e-8`, because
    /// torch's float32 `sqrt` (MKL) is off by one ulp for ~17% of inputs, which moves an update
    /// of size ≤ 3e-2 by ≤ 4e-9 (measured: max |Δp| 1.2e-7, one ulp of a p near 1).
    /// Against `fused=True` (HF Trainer's default): same tolerance for the parameters, the first
    /// moment bitwise, the second within 1 ulp (its scalar tail loop rounds `v` differently).
    func testMatchesTorchAdamW() throws {
        let file = try OptimFixtures.open("adamw_reference")
        XCTAssertEqual(file.metadata["format_version"], "1", "reference file format changed")
        for (name, beta1, beta2) in [("main", 0.9, 0.999), ("b03", 0.3, 0.99)] {
            let decayed = try file.floats("\(name).param.decay"), plain = try file.floats("\(name).param.no_decay")
            let n1 = decayed.count, n2 = plain.count, n = n1 + n2
            let lrs = try OptimFixtures.doubles(file, "\(name).lr")
            /// Row `s` of the (steps, n1) and (steps, n2) tensors `key`.decay / `key`.no_decay, concatenated.
            func row(_ key: String, _ s: Int) throws -> [Float] {
                let a = try file.floats("\(name).\(key).decay"), b = try file.floats("\(name).\(key).no_decay")
                return Array(a[(s * n1)..<((s + 1) * n1)]) + Array(b[(s * n2)..<((s + 1) * n2)])
            }
            func final(_ key: String) throws -> [Float] {
                try file.floats("\(name).\(key).decay") + file.floats("\(name).\(key).no_decay")
            }

            let optimizer = AdamW(
                parameterCount: n, beta1: beta1, beta2: beta2, epsilon: 1e-8, weightDecay: 0.05,
                decayRanges: [0..<n1])
            var p = decayed + plain
            var worst: Float = 0
            for s in 0..<lrs.count {
                step(optimizer, &p, try row("grad", s), lr: lrs[s])
                for mode in ["single", "fused"] {
                    let expected = try row("\(mode).param", s)
                    for i in 0..<n {
                        let error = abs(p[i] - expected[i])
                        worst = max(worst, error)
                        XCTAssertLessThanOrEqual(error, abs(expected[i]).ulp + 1e-8, "\(name) \(mode) step \(s) [\(i)]")
                    }
                }
            }
            let m = Array(optimizer.firstMoment), v = Array(optimizer.secondMoment)
            XCTAssertEqual(m.map(\.bitPattern), try final("single.exp_avg").map(\.bitPattern), "\(name): exp_avg, foreach=False")
            XCTAssertEqual(v.map(\.bitPattern), try final("single.exp_avg_sq").map(\.bitPattern), "\(name): exp_avg_sq, foreach=False")
            XCTAssertEqual(m.map(\.bitPattern), try final("fused.exp_avg").map(\.bitPattern), "\(name): exp_avg, fused")
            for (a, b) in zip(v, try final("fused.exp_avg_sq")) {
                XCTAssertLessThanOrEqual(abs(a - b), b.ulp, "\(name): exp_avg_sq, fused")
            }
            print("AdamW \(name): moments bitwise torch foreach=False; max |Δp| vs torch \(worst)")
        }
    }

    // MARK: - State

    /// Export after 3 steps, import into a fresh optimizer, continue: bitwise an uninterrupted run.
    func testStateRoundTripResumesBitwise() throws {
        let n = 37
        let start = testValues(n, seed: 1)
        let grads = (0..<5).map { testValues(n, seed: UInt64(10 + $0), scale: Float($0 + 1)) }
        let lrs = [0.0, 1e-3, 2e-3, 1.5e-3, 1e-3]

        let straight = AdamW(parameterCount: n, weightDecay: 0.01, decayRanges: [3..<20, 25..<30])
        var a = start
        for s in 0..<5 { step(straight, &a, grads[s], lr: lrs[s]) }

        let first = AdamW(parameterCount: n, weightDecay: 0.01, decayRanges: [25..<30, 3..<20])
        var b = start
        for s in 0..<3 { step(first, &b, grads[s], lr: lrs[s]) }
        let savedStep = first.stepCount, savedM = Array(first.firstMoment), savedV = Array(first.secondMoment)

        let resumed = AdamW(parameterCount: n, weightDecay: 0.01, decayRanges: [3..<20, 25..<30])
        try savedM.withUnsafeBufferPointer { m in
            try savedV.withUnsafeBufferPointer { v in try resumed.loadState(stepCount: savedStep, firstMoment: m, secondMoment: v) }
        }
        XCTAssertEqual(resumed.stepCount, 3)
        for s in 3..<5 { step(resumed, &b, grads[s], lr: lrs[s]) }
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "resumed run equals the uninterrupted one")
        XCTAssertEqual(Array(straight.secondMoment), Array(resumed.secondMoment))

        let wrong = [Float](repeating: 0, count: n - 1)
        XCTAssertThrowsError(
            try wrong.withUnsafeBufferPointer { m in
                try resumed.loadState(stepCount: 1, firstMoment: m, secondMoment: m)
            })
        resumed.reset()
        XCTAssertEqual(resumed.stepCount, 0)
        XCTAssertTrue(resumed.firstMoment.allSatisfy { $0 == 0 })
    }

    /// The update is element-wise, so the result does not depend on the thread count.
    func testIndependentOfThreadCount() {
        let n = 10_007
        let start = testValues(n, seed: 3), g = testValues(n, seed: 4)
        var results: [[Float]] = []
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 3] {
            Parallel.threadCount = threads
            let optimizer = AdamW(parameterCount: n, weightDecay: 0.01, decayRanges: [100..<5000, 6000..<9000])
            var p = start
            for s in 0..<3 { step(optimizer, &p, g, lr: 1e-3 * Double(s + 1)) }
            results.append(p)
        }
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern))
    }

    // MARK: - Decay mask

    /// Hugging Face's `get_decay_parameter_names` patterns (checked with transformers 5.24's
    /// regexes on these names).
    func testHuggingFaceDecayRule() {
        let expected: [(String, Bool)] = [
            ("embeddings.word_embeddings.weight", true), ("embeddings.LayerNorm.weight", false),
            ("encoder.layer.0.attention.self.query.bias", false), ("classifier.weight", true),
            ("model.norm.weight", false), ("layers.0.input_layernorm.weight", false),
            ("layers.0.post_attention_norm.weight", false), ("normalizer.weight", true),
            ("encoder.q_norm_proj.weight", true), ("lora_A.weight", true), ("head.Bias", false),
            ("final_rmsnorm.scale", false), ("norm", false), ("x.norm_1.weight", true),
        ]
        for (name, decays) in expected {
            XCTAssertEqual(WeightDecayMask.huggingFaceDecays(name), decays, name)
        }
    }

    /// For BERT: every weight matrix and embedding decays; no bias or layer norm does.
    func testBertDecayGroups() throws {
        let config = try JSONDecoder().decode(
            EncoderConfig.self,
            from: Data(
                """
                {"vocab_size": 11, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "intermediate_size": 16, "max_position_embeddings": 6}
                """.utf8))
        let model = try EncoderModel(config: config, numLabels: 3)
        let decayed = Set(WeightDecayMask.huggingFace(model.store).map(\.name))
        var expected: Set<String> = [
            "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight", "pooler.dense.weight", "classifier.weight",
        ]
        for l in 0..<2 {
            for suffix in [
                "attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight",
                "attention.output.dense.weight", "intermediate.dense.weight", "output.dense.weight",
            ] {
                expected.insert("encoder.layer.\(l).\(suffix)")
            }
        }
        XCTAssertEqual(decayed, expected)
    }

    func testRangesAreMerged() {
        XCTAssertEqual(WeightDecayMask.merge([5..<8, 0..<2, 2..<3, 7..<10, 12..<12]), [0..<3, 5..<10])
        let optimizer = AdamW(parameterCount: 10, decayRanges: [8..<10, 0..<4, 4..<6])
        XCTAssertEqual(optimizer.decayRanges, [0..<6, 8..<10])
    }

    // MARK: - Helpers

    private func step(_ optimizer: AdamW, _ p: inout [Float], _ g: [Float], lr: Double) {
        p.withUnsafeMutableBufferPointer { pb in
            g.withUnsafeBufferPointer { gb in optimizer.step(parameters: pb, gradients: gb, learningRate: lr) }
        }
    }
}

/// Frozen tensors are absent from the optimizer: its moments cover the packed gradient buffer,
/// frozen values never move, and trainable ones move exactly as a flat AdamW over them alone.
final class OptimAdamWFreezingTests: XCTestCase {
    func testFrozenTensorsAreNotInTheOptimizer() {
        let store = ParameterStore(layout: [("a.weight", [3]), ("frozen.weight", [4]), ("b.bias", [2]), ("c.weight", [2])])
        let start: [Float] = [0.3, -1.2, 2.0, 9, 9, 9, 9, 0.1, -0.4, 1.1, 0.9]
        store.values.baseAddress!.update(from: start, count: start.count)
        store.setTrainable { $0 != "frozen.weight" }
        let optimizer = AdamW(store: store, weightDecay: 0.1, decaying: WeightDecayMask.huggingFace(store))
        XCTAssertEqual(optimizer.parameterCount, 7, "moments for the 7 trainable elements only")
        XCTAssertEqual(optimizer.decayRanges, [0..<3, 5..<7], "decay ranges in gradient-buffer coordinates")
        // The oracle: the same optimizer over the trainable elements laid out flat.
        let flat = AdamW(parameterCount: 7, weightDecay: 0.1, decayRanges: [0..<3, 5..<7])
        var p: [Float] = [0.3, -1.2, 2.0, 0.1, -0.4, 1.1, 0.9]
        for (s, g) in [[0.2, -0.7, 1.5, 0.01, -3.0, 0.5, 0.1], [-0.1, -0.6, 1.0, 0.02, 2.0, -0.5, 1e-3]].enumerated() {
            let g = g.map(Float.init)
            store.gradients.baseAddress!.update(from: g, count: 7)
            optimizer.step(store, learningRate: 0.01 * Double(s + 1))
            p.withUnsafeMutableBufferPointer { pp in
                g.withUnsafeBufferPointer { flat.step(parameters: pp, gradients: $0, learningRate: 0.01 * Double(s + 1)) }
            }
        }
        XCTAssertEqual(store.valueArray("frozen.weight"), [9, 9, 9, 9], "frozen values never move")
        XCTAssertEqual(
            store.valueArray("a.weight") + store.valueArray("b.bias") + store.valueArray("c.weight"), p,
            "bit-identical to AdamW over the trainable elements alone")
    }
}
