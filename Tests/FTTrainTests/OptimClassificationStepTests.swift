import FTCore
import FTModel
@testable import FTTrain
import TestSupport
import XCTest

/// The step driver's accumulation arithmetic on a tiny random BERT: with learning rate 0 and no
/// clipping the parameters stay put and `store.gradients` is the accumulated gradient, compared
/// with one backward pass over the concatenated batch (tolerance `atol 1e-7, rtol 1e-5`: fp32
/// summation order only).
final class OptimClassificationStepTests: XCTestCase {
    private let config = EncoderConfig(
        vocabSize: 23, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2,
        intermediateSize: 16, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0,
        maxPositionEmbeddings: 8)
    private let frozen = LearningRateSchedule(type: .constant, baseLearningRate: 0, trainingSteps: 1)

    private func makeModel() throws -> EncoderModel {
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 11)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.3)
        return model
    }

    private let first = ClassificationStep.Batch(
        inputIds: [2, 5, 7, 0, 3, 9, 4, 1], tokenTypeIds: [0, 0, 1, 0, 0, 0, 1, 1],
        attentionMask: [1, 1, 1, 0, 1, 1, 1, 1], labels: [2, 0], sequenceLength: 4)
    private let second = ClassificationStep.Batch(
        inputIds: [8, 8, 0, 0, 6, 12, 21, 3], tokenTypeIds: [0, 0, 0, 0, 0, 1, 1, 1],
        attentionMask: [1, 1, 0, 0, 1, 1, 1, 1], labels: [1, 2], sequenceLength: 4)

    /// d(mean loss over all 4 rows) by one forward/backward, and that loss.
    private func fullBatchGradient(_ model: EncoderModel, classWeights: [Float]? = nil) throws -> (loss: Float, gradient: [Float]) {
        let ids = first.inputIds + second.inputIds, types = first.tokenTypeIds + second.tokenTypeIds
        let mask = first.attentionMask + second.attentionMask, labels = first.labels + second.labels
        let out = try model.forward(inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 4, sequence: 4, training: true)
        var dLogits = [Float](repeating: 0, count: 12)
        let loss = SoftmaxCrossEntropy.forward(
            logits: out.logits!, labels: labels, classWeights: classWeights,
            batch: 4, classes: 3, dLogits: &dLogits)
        model.store.zeroGradients()
        model.backward(dLogits: dLogits)
        return (loss, Array(model.store.gradients))
    }

    func testMeanScalingEqualsFullBatchGradient() throws {
        let model = try makeModel()
        let before = Array(model.store.values)
        let (fullLoss, fullGradient) = try fullBatchGradient(model)
        let driver = try ClassificationStep(
            model: model, schedule: frozen, weightDecay: 0.01, maxGradNorm: 0,
            accumulationScaling: .meanOfMicroBatchMeans)
        let result = try driver.step([first, second])
        assertClose(Array(model.store.gradients), fullGradient, atol: 1e-7, rtol: 1e-5, "accumulated gradient")
        assertClose([result.loss], [fullLoss], atol: 0, rtol: 1e-6, "loss")
        XCTAssertEqual(result.loggedLoss, result.loss, accuracy: 1e-6)
        XCTAssertEqual(Array(model.store.values), before, "learning rate 0 leaves the parameters alone")
        XCTAssertEqual(result.step, 1)
        XCTAssertEqual(result.learningRate, 0)
        let norm = fullGradient.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(Double(result.gradientNorm), norm, accuracy: norm * 1e-5)
    }

    /// transformers 5.x Trainer: micro-batch means summed, so twice the mean-gradient; the
    /// logged loss is the sum of the two means.
    func testHuggingFaceTrainerScalingSumsMicroBatchMeans() throws {
        let model = try makeModel()
        let (fullLoss, fullGradient) = try fullBatchGradient(model)
        let driver = try ClassificationStep(model: model, schedule: frozen, weightDecay: 0.01, maxGradNorm: 0)
        XCTAssertEqual(driver.accumulationScaling, .sumOfMicroBatchMeans, "the default is the real Trainer's")
        let result = try driver.step([first, second])
        assertClose(Array(model.store.gradients), fullGradient.map { 2 * $0 }, atol: 2e-7, rtol: 1e-5, "accumulated gradient")
        assertClose([result.loss], [fullLoss], atol: 0, rtol: 1e-6, "loss")
        assertClose([result.loggedLoss], [2 * fullLoss], atol: 0, rtol: 1e-6, "logged loss")
    }

    func testClassWeightsReachTheLoss() throws {
        let model = try makeModel()
        let weights: [Float] = [1, 2, 0.5]
        let (fullLoss, fullGradient) = try fullBatchGradient(model, classWeights: weights)
        // One micro-batch of all four rows: the weighted mean over the batch, as nn.CrossEntropyLoss(weight=).
        let all = ClassificationStep.Batch(
            inputIds: first.inputIds + second.inputIds,
            tokenTypeIds: first.tokenTypeIds + second.tokenTypeIds,
            attentionMask: first.attentionMask + second.attentionMask,
            labels: first.labels + second.labels, sequenceLength: 4)
        let driver = try ClassificationStep(
            model: model, schedule: frozen, weightDecay: 0, maxGradNorm: 0,
            classWeights: weights)
        let result = try driver.step([all])
        assertClose([result.loss], [fullLoss], atol: 0, rtol: 1e-6, "weighted loss")
        assertClose(Array(model.store.gradients), fullGradient, atol: 1e-7, rtol: 1e-5, "weighted gradient")
    }

    /// Clipping leaves a gradient of norm max_norm and reports the norm before it; the step
    /// moves the parameters at the scheduled rate and advances the schedule.
    func testClipsStepsAndAdvancesSchedule() throws {
        let model = try makeModel()
        let schedule = LearningRateSchedule(type: .linear, baseLearningRate: 1e-2, warmupSteps: 1, trainingSteps: 4)
        let driver = try ClassificationStep(model: model, schedule: schedule, weightDecay: 0.01, maxGradNorm: 1e-3)
        XCTAssertEqual(driver.nextLearningRate, 0)
        let before = Array(model.store.values)
        let r0 = try driver.step([first, second])
        XCTAssertEqual(r0.learningRate, 0)
        XCTAssertGreaterThan(r0.gradientNorm, 1e-3, "the test needs clipping to be active")
        let clipped = Array(model.store.gradients).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        XCTAssertEqual(clipped, 1e-3, accuracy: 1e-8)
        XCTAssertEqual(Array(model.store.values), before, "rate 0 at step 0 (warmup)")
        let r1 = try driver.step([first])
        XCTAssertEqual(r1.learningRate, 1e-2)
        XCTAssertEqual(r1.step, 2)
        XCTAssertNotEqual(Array(model.store.values), before)
        XCTAssertEqual(driver.nextLearningRate, schedule.learningRate(atStep: 2))
    }

    /// With dropout on, a step is a function of its seed: the same seed replays it bitwise, another
    /// seed gives other masks.
    func testDropoutSeedReplaysAStep() throws {
        var dropoutConfig = config
        dropoutConfig.hiddenDropoutProb = 0.2
        dropoutConfig.attentionProbsDropoutProb = 0.1
        func run(seed: UInt64) throws -> [Float] {
            let model = try EncoderModel(config: dropoutConfig, numLabels: 3)
            var rng = SeededRNG(seed: 11)
            model.initializeRandomly(rng: &rng, standardDeviation: 0.3)
            let schedule = LearningRateSchedule(type: .constant, baseLearningRate: 1e-2, trainingSteps: 1)
            let driver = try ClassificationStep(model: model, schedule: schedule, weightDecay: 0.01)
            _ = try driver.step([first, second], dropoutSeed: seed)
            return Array(model.store.values)
        }
        XCTAssertEqual(try run(seed: 7), try run(seed: 7))
        XCTAssertNotEqual(try run(seed: 7), try run(seed: 8))
    }

    func testRejectsBadBatchesBeforeAnyWork() throws {
        let model = try makeModel()
        let driver = try ClassificationStep(model: model, schedule: frozen, weightDecay: 0)
        var badLabel = second
        badLabel.labels = [1, 3]
        XCTAssertThrowsError(try driver.step([first, badLabel])) { error in
            XCTAssertEqual(error as? OptimizerError, .badBatch("micro-batch 1: label 3 outside 0..<3"))
        }
        var badShape = first
        badShape.sequenceLength = 3
        XCTAssertThrowsError(try driver.step([badShape]))
        XCTAssertThrowsError(try driver.step([]))
        XCTAssertEqual(driver.optimizer.stepCount, 0, "no step was taken")

        let bare = try EncoderModel(config: config)
        XCTAssertThrowsError(try ClassificationStep(model: bare, schedule: frozen, weightDecay: 0))
        XCTAssertThrowsError(try ClassificationStep(model: model, schedule: frozen, weightDecay: 0, classWeights: [1, 2]))
    }
}
