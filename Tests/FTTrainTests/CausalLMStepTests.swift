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

/// The causal-LM evaluation on 2 and 3 in-process ranks equals one process bit for bit: the
/// token-weighted loss and the greedy generations (gathered as token ids).
final class CausalLMDistributedEvaluationTests: XCTestCase {
    func testShardedLossAndGenerationsEqualSingleProcess() throws {
        let savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = savedThreads }
        let tokenizer = ByteTestTokenizer()
        let examples = (0..<13).map { i in
            SFTData.promptCompletion(
                prompt: "q\(i % 5)?", completion: String(repeating: "ab", count: 1 + i % 3), label: nil,
                at: SourceLocation(file: "f", line: i + 1), options: SFTDataOptions())
        }
        let rows = SFTEncoding(examples: examples, tokenizer: tokenizer, maxLength: 32).rows
        let dataset = EncodedDataset(
            encodings: rows.map { CausalLanguageModelingTask.encoding($0.ids) }, tokenLabels: rows.map(\.labels),
            texts: examples.map(\.prompt), pairs: examples.map(\.completion))
        let model: @Sendable () -> BigramLanguageModel = { BigramLanguageModel(vocabularySize: 259, seed: 5) }
        let single = try CausalLMEvaluation.loss(model: model(), dataset: dataset, batchSize: 4, padTokenId: 258, world: SingleProcessWorld())
        let singleGenerations = try CausalLMEvaluation.generate(
            model: model(), tokenizer: tokenizer, dataset: dataset, maxNewTokens: 4, world: SingleProcessWorld())
        XCTAssertEqual(single.tokens, rows.reduce(0) { $0 + $1.labels.filter { $0 != -100 }.count })
        XCTAssertEqual(singleGenerations.compactMap { $0 }.count, 13)
        for ranks in [2, 3] {
            let results = try InProcessWorlds.run(size: ranks) { world -> (Double, Int, [String?]) in
                let loss = try CausalLMEvaluation.loss(model: model(), dataset: dataset, batchSize: 4, padTokenId: 258, world: world)
                let generations = try CausalLMEvaluation.generate(
                    model: model(), tokenizer: tokenizer, dataset: dataset, maxNewTokens: 4, world: world)
                return (loss.mean, loss.tokens, generations)
            }
            for (rank, result) in results.enumerated() {
                XCTAssertEqual(result.0.bitPattern, single.mean.bitPattern, "\(ranks) ranks, rank \(rank): loss")
                XCTAssertEqual(result.1, single.tokens)
                XCTAssertEqual(result.2, singleGenerations, "\(ranks) ranks, rank \(rank): generations")
            }
        }
    }
}

/// Two ranks with token-weighted accumulation train as one process with their joint batch: the
/// step's denominator is the ranks' mean target count (HF's `average_tokens_across_devices`), so
/// ranks with unequal token counts still give the global token mean's gradient.
final class CausalLMDataParallelTests: XCTestCase {
    func testTwoRanksEqualOneRankWithTheJointBatch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("causal-lm-ddp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try BigramLanguageModel.writeDirectory(to: directory.appendingPathComponent("model"), vocabularySize: 259)
        // Completions of 1 to 7 characters: the ranks' micro-batches hold different target counts.
        let lines = (0..<32).map { #"{"prompt": "q\#($0)", "completion": "\#(String(repeating: "ab", count: 1 + $0 % 7).prefix(1 + $0 % 7))"}"# }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        let savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = savedThreads }
        func configuration(_ name: String, batch: Int) -> TrainingConfiguration {
            var c = TrainingConfiguration()
            c.outputDir = directory.appendingPathComponent(name).path
            c.modelDir = directory.appendingPathComponent("model").path
            c.trainFile = directory.appendingPathComponent("train.jsonl").path
            c.splitRatios = [1, 0, 0]
            c.maxSteps = 6
            c.perDeviceTrainBatchSize = batch
            c.learningRate = 0.05
            c.loggingSteps = 1
            c.saveStrategy = .no
            c.ddpSparseEmbeddings = false  // the bigram has no embedding table of its own
            return c
        }
        @Sendable func makeRun(_ c: TrainingConfiguration, _ world: TrainingWorld) -> TrainingRun {
            let run = TrainingRun(configuration: c, world: world)
            run.causalModelLoader = { _, _ in
                CausalModelLoading.Loaded(model: BigramLanguageModel(vocabularySize: 259), tokenizer: ByteTestTokenizer())
            }
            return run
        }
        let one = configuration("one", batch: 4)
        try makeRun(one, SingleProcessWorld()).run()
        let two = configuration("two", batch: 2)
        _ = try InProcessWorlds.run(size: 2) { world in try makeRun(two, world).run() }
        let a = try logRecords(URL(fileURLWithPath: one.outputDir!)).train
        let b = try logRecords(URL(fileURLWithPath: two.outputDir!)).train
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(a.count, b.count)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x[2], y[2], accuracy: 1e-5 * abs(x[2]), "grad_norm of step \(x[0])")
        }
        func parameters(_ c: TrainingConfiguration) throws -> [Float] {
            let file = try SafeTensorsFile(path: URL(fileURLWithPath: c.outputDir!).appendingPathComponent("model/model.safetensors").path)
            return try file.floats(try XCTUnwrap(file.tensors.first).name)
        }
        XCTAssertLessThan(maxAbsDifference(try parameters(one), try parameters(two)), 1e-5, "final parameters")
    }
}
