import FTCore
@testable import FTModel
import TestSupport
import XCTest

/// `EncoderModel.precision = .bfloat16` (`bf16: true`) on a tiny BERT: logits and every
/// parameter's gradient within bf16's tolerance of the float32 model's, bit-for-bit repeatable
/// (resume depends on it), and equal to float32 on the forced fallback.
///
/// Tolerance: per tensor, ‖g_bf16 − g_fp32‖₂ ≤ 0.03 · ‖g_fp32‖₂ and logits within 0.02 + 2%. Each
/// product's operands carry a relative error ≤ 2^-8 (bf16 rounding); through 2 layers, the
/// head and backward's two products per layer the errors add up to a few 2^-8 ≈ 0.4% each —
/// 0.03 leaves room for cancellation in small gradients, and still fails a wrong backward (a
/// missing or transposed product gives errors of order 1).
final class BF16ModelTests: XCTestCase {
    static let B = 4, T = 12, labels = 3

    override func tearDown() {
        BF16Products.forceFallback = false
        super.tearDown()
    }

    func model(lora: Bool = false) throws -> EncoderModel {
        var config = EncoderConfig(
            vocabSize: 50, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4,
            intermediateSize: 64, maxPositionEmbeddings: 16)
        config.hiddenDropoutProb = 0.1
        config.attentionProbsDropoutProb = 0.1
        let peft = lora ? PEFTSetup(lora: LoRAConfiguration(rank: 2, alpha: 4)) : nil
        let model = try EncoderModel(config: config, numLabels: Self.labels, peft: peft)
        var rng = SeededRNG(seed: 5)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.2)
        return model
    }

    func run(_ model: EncoderModel, _ precision: MatrixPrecision, threads: Int = 2) throws -> (logits: [Float], gradients: [Float]) {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        model.precision = precision
        let (B, T) = (Self.B, Self.T)
        var rng = SeededRNG(seed: 8)
        let ids = (0..<(B * T)).map { _ in Int32(rng.next() % 50) }
        let types = [Int32](repeating: 0, count: B * T)
        let mask = (0..<(B * T)).map { Int32($0 % T < T - $0 / T ? 1 : 0) }
        let out = try model.forward(
            inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: B, sequence: T,
            training: true, dropoutSeed: 42, firstTokenOnly: true)
        let logits = Array(UnsafeBufferPointer(start: out.logits!, count: B * Self.labels))
        model.store.zeroGradients()
        model.backward(dLogits: testValues(B * Self.labels, seed: 9))
        return (logits, Array(model.store.gradients))
    }

    func testGradientsWithinBF16ToleranceOfFloat32() throws {
        for lora in [false, true] {
            let model = try model(lora: lora)
            let fp32 = try run(model, .float32)
            let bf16 = try run(model, .bfloat16)
            assertClose(bf16.logits, fp32.logits, atol: 0.02, rtol: 0.02, "logits, lora \(lora)")
            var worst = 0.0
            for view in model.store.views {
                guard let range = view.gradientRange else { continue }
                let g32 = fp32.gradients[range], g16 = bf16.gradients[range]
                let norm = sqrt(g32.reduce(0) { $0 + Double($1) * Double($1) })
                let error = sqrt(zip(g16, g32).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) })
                guard norm > 1e-6 else { continue }
                worst = max(worst, error / norm)
                XCTAssertLessThanOrEqual(error, 0.03 * norm, "\(view.name), lora \(lora)")
            }
            if BF16Products.usesBF16Instructions {
                XCTAssertNotEqual(bf16.gradients, fp32.gradients, "bf16 products must round (lora \(lora))")
                XCTAssertGreaterThan(worst, 0, "lora \(lora)")
            }
            print("bf16 vs float32, lora \(lora): worst relative gradient error \(worst)")
        }
    }

    func testBF16PassesRepeatBitForBit() throws {
        for threads in [2, 1, 2, 1] {
            let model = try model()
            let first = try run(model, .bfloat16, threads: threads), second = try run(model, .bfloat16, threads: threads)
            XCTAssertTrue(first.logits == second.logits, "logits, \(threads) threads")
            XCTAssertTrue(first.gradients == second.gradients, "gradients, \(threads) threads")
        }
    }

    func testForcedFallbackIsTheFloat32Model() throws {
        let model = try model()
        let fp32 = try run(model, .float32)
        BF16Products.forceFallback = true
        let fallback = try run(model, .bfloat16)
        XCTAssertEqual(fallback.logits, fp32.logits)
        XCTAssertEqual(fallback.gradients, fp32.gradients)
    }
}
