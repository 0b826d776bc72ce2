import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// The step driver with the causal-LM objective: token-weighted accumulation makes two
/// micro-batches with different target counts step exactly as one batch holding both (HF's
/// `num_items_in_batch`), where the mean of micro-batch means would not.
final class CausalLMStepTests: XCTestCase {
    func batch(_ rows: [([Int32], [Int32])], T: Int) -> ClassificationStep.Batch {
        var ids: [Int32] = [], labels: [Int32] = [], mask: [Int32] = []
        for (rowIds, rowLabels) in rows {
            ids += rowIds + Array(repeating: 0, count: T - rowIds.count)
            labels += rowLabels + Array(repeating: -100, count: T - rowLabels.count)
            mask += Array(repeating: 1, count: rowIds.count) + Array(repeating: 0, count: T - rowIds.count)
        }
        return ClassificationStep.Batch(
            inputIds: ids, tokenTypeIds: ids.map { _ in 0 }, attentionMask: mask, labels: labels, sequenceLength: T)
    }

    func gradientAfterStep(_ batches: [ClassificationStep.Batch], scaling: GradientAccumulationScaling) throws -> (Float, [Float]) {
        let model = BigramLanguageModel(vocabularySize: 11, seed: 3)
        let objective = try CausalLanguageModelingObjective(vocabularySize: 11)
        let optimizer = AdamW(parameterCount: model.store.trainableCount, decayRanges: [])
        let step = try ClassificationStep(
            model: model, objective: objective, optimizer: optimizer,
            schedule: LearningRateSchedule(type: .constant, baseLearningRate: 0, trainingSteps: 1),
            maxGradNorm: 0, accumulationScaling: scaling)
        step.firstTokenOnly = false
        let result = try step.step(batches)
        return (result.loss, model.store.gradientArray(BigramLanguageModel.tableName))
    }

    func testTokenWeightedAccumulationEqualsOneBatch() throws {
        let a: ([Int32], [Int32]) = ([1, 2, 3, 4, 5, 6], [-100, -100, 3, 4, 5, 6])  // 4 targets
        let b: ([Int32], [Int32]) = ([7, 8, 9], [-100, -100, 9])  // 1 target
        let (oneLoss, one) = try gradientAfterStep([batch([a, b], T: 6)], scaling: .tokenWeightedMean)
        let (splitLoss, split) = try gradientAfterStep([batch([a], T: 6), batch([b], T: 3)], scaling: .tokenWeightedMean)
        XCTAssertEqual(splitLoss, oneLoss, accuracy: 1e-6)
        assertClose(split, one, atol: 1e-7, rtol: 1e-5, "token-weighted accumulated gradient")
        let (_, means) = try gradientAfterStep([batch([a], T: 6), batch([b], T: 3)], scaling: .meanOfMicroBatchMeans)
        XCTAssertGreaterThan(maxAbsDifference(means, one), 1e-3, "the mean of micro-batch means weighs b's one target as much as a's four")
        // A micro-batch without targets adds nothing.
        let empty: ([Int32], [Int32]) = ([1, 2], [-100, -100])
        let (withEmptyLoss, withEmpty) = try gradientAfterStep([batch([a, b], T: 6), batch([empty], T: 2)], scaling: .tokenWeightedMean)
        XCTAssertEqual(withEmptyLoss, oneLoss, accuracy: 1e-6)
        assertClose(withEmpty, one, atol: 1e-7, rtol: 1e-5, "with a target-free micro-batch")
    }
}
