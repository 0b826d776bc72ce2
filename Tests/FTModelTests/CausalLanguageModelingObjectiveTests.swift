import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The causal-LM loss against PyTorch (`scripts/reference/make_causal_lm_loss_reference.py`:
/// `F.cross_entropy(ignore_index=-100)` after the shift, as `LlamaForCausalLM` computes it).
final class CausalLanguageModelingObjectiveTests: XCTestCase {
    struct Case: Decodable {
        let shape: [Int]
        let logits: [Float]
        let labels: [Int32]
        let loss: Float
        let dlogits: [Float]
        let targets: Int
    }

    func fixture(_ name: String) throws -> Case {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "causal_lm_loss_reference", withExtension: "json", subdirectory: "Fixtures"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let data = try JSONSerialization.data(withJSONObject: try XCTUnwrap(object[name]))
        return try JSONDecoder().decode(Case.self, from: data)
    }

    func run(_ c: Case, objective: CausalLanguageModelingObjective) -> (Float, [Float]) {
        let (B, T) = (c.shape[0], c.shape[1])
        var d = [Float](repeating: .nan, count: c.logits.count)
        let loss = objective.loss(outputs: c.logits, targets: c.labels, batch: B, sequence: T, dOutputs: &d)
        return (loss, d)
    }

    func testLossAndGradientMatchPyTorch() throws {
        for name in ["masked", "large_logits"] {
            let c = try fixture(name)
            let objective = try CausalLanguageModelingObjective(vocabularySize: c.shape[2])
            XCTAssertEqual(objective.outputCount(batch: c.shape[0], sequence: c.shape[1]), c.logits.count)
            XCTAssertEqual(NextTokenCrossEntropy.targetCount(labels: c.labels, batch: c.shape[0], sequence: c.shape[1]), c.targets)
            for threads in [1, 2] {
                let saved = Parallel.threadCount
                Parallel.threadCount = threads
                defer { Parallel.threadCount = saved }
                let (loss, d) = run(c, objective: objective)
                XCTAssertEqual(loss, c.loss, accuracy: 1e-5 * max(1, abs(c.loss)), "\(name) loss, \(threads) threads")
                assertClose(d, c.dlogits, atol: 1e-6, rtol: 1e-4, "\(name) dlogits, \(threads) threads")
            }
            // The fully masked row 1 and every row's last position have a zero gradient.
            let (_, d) = run(c, objective: objective)
            let (T, V) = (c.shape[1], c.shape[2])
            XCTAssertTrue(d[(T * V)..<(2 * T * V)].allSatisfy { $0 == 0 }, "\(name): fully masked row")
            for b in 0..<c.shape[0] {
                XCTAssertTrue(d[((b * T + T - 1) * V)..<((b * T + T) * V)].allSatisfy { $0 == 0 }, "\(name): last position of row \(b)")
            }
            let summed = objective.summedLoss(outputs: c.logits, targets: c.labels, batch: c.shape[0], sequence: T)
            XCTAssertEqual(summed.targets, c.targets)
            XCTAssertEqual(summed.sum / Double(summed.targets), Double(c.loss), accuracy: 1e-5 * max(1, Double(abs(c.loss))))
        }
    }

    func testNoTargetGivesZeroLossAndGradient() throws {
        let c = try fixture("masked")
        let objective = try CausalLanguageModelingObjective(vocabularySize: c.shape[2])
        let masked = Case(
            shape: c.shape, logits: c.logits, labels: c.labels.map { _ in -100 }, loss: 0, dlogits: [], targets: 0)
        let (loss, d) = run(masked, objective: objective)
        XCTAssertEqual(loss, 0)
        XCTAssertTrue(d.allSatisfy { $0 == 0 })
        // A target only at position 0 is no target either (nothing predicts it).
        var first = c.labels.map { _ in Int32(-100) }
        first[0] = 3
        XCTAssertEqual(run(Case(shape: c.shape, logits: c.logits, labels: first, loss: 0, dlogits: [], targets: 0), objective: objective).0, 0)
    }

    func testValidationRejectsTargetsOutsideTheVocabulary() throws {
        let objective = try CausalLanguageModelingObjective(vocabularySize: 11)
        XCTAssertNoThrow(try objective.validate(targets: [-100, 0, 10], batch: 1, sequence: 3))
        XCTAssertThrowsError(try objective.validate(targets: [-100, 11, 0], batch: 1, sequence: 3)) { error in
            XCTAssertTrue("\(error)".contains("11"), "\(error)")
        }
        XCTAssertThrowsError(try objective.validate(targets: [-1, 0, 0], batch: 1, sequence: 3))
        XCTAssertThrowsError(try CausalLanguageModelingObjective(vocabularySize: 0))
    }

    /// Large V: the SIMD loops with a tail, many rows split across threads, against a Double reference.
    func testLargeVocabularyAgainstDoubleReference() throws {
        let (B, T, V) = (2, 5, 1003)
        var rng = SeededRNG(seed: 7)
        let logits = (0..<(B * T * V)).map { _ in rng.nextUniform() * 20 - 10 }
        var labels = (0..<(B * T)).map { _ in Int32(rng.next(upperBound: UInt64(V))) }
        labels[1] = -100
        labels[7] = -100
        let objective = try CausalLanguageModelingObjective(vocabularySize: V)
        var d = [Float](repeating: 0, count: logits.count)
        let loss = objective.loss(outputs: logits, targets: labels, batch: B, sequence: T, dOutputs: &d)
        var expected = 0.0
        var count = 0
        for b in 0..<B {
            for t in 0..<(T - 1) where labels[b * T + t + 1] != -100 {
                let row = logits[((b * T + t) * V)..<((b * T + t + 1) * V)].map(Double.init)
                let m = row.max()!
                let lse = log(row.reduce(0) { $0 + exp($1 - m) }) + m
                expected += lse - row[Int(labels[b * T + t + 1])]
                count += 1
            }
        }
        XCTAssertEqual(Double(loss), expected / Double(count), accuracy: 1e-5)
        // Each non-ignored row's gradient sums to zero (softmax − one-hot).
        for r in 0..<(B * T) {
            let s = d[(r * V)..<((r + 1) * V)].reduce(0, +)
            XCTAssertEqual(s, 0, accuracy: 1e-6)
        }
    }
}
