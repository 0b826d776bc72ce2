import FTCore
import FTModel
import FTTrain
import Foundation
import XCTest

/// Distributed evaluation equals one process bit for bit: probabilities, loss and every metric,
/// on 23 examples (not a multiple of 2 or 3 ranks) in batches of 4, so the last batch is short
/// and the ranks get unequal shares.
final class DistributedEvaluationTests: XCTestCase {
    func testShardedPredictionsEqualSingleProcess() throws {
        let fixture = try CheckpointFixture(rows: 30)
        defer { fixture.remove() }
        let savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = savedThreads }
        let tokenizer = try BertTokenizer.load(modelDirectory: fixture.modelDirectory)
        let lines = try String(contentsOfFile: fixture.trainFile, encoding: .utf8).split(separator: "\n").dropFirst().prefix(23)
        let texts = lines.map { String($0.split(separator: ",", maxSplits: 1)[1]).replacingOccurrences(of: "\"", with: "") }
        let labels = lines.map { line -> Int32 in ["fresh": 0, "rotten": 1, "plot": 2][String(line.split(separator: ",")[0])]! }
        let dataset = EncodedDataset.encode(texts: texts, pairs: texts.map { _ in nil }, labels: labels, tokenizer: tokenizer, maxLength: 16)
        XCTAssertEqual(dataset.count, 23)
        let names = ["fresh", "rotten", "plot"]
        let modelDirectory = fixture.modelDirectory
        let model: @Sendable () throws -> EncoderModel = { try EncoderModel.load(modelDirectory: modelDirectory, numLabels: 3, seed: 9) }

        let padTokenId = tokenizer.padTokenId
        let single = try Predictions.compute(model: model(), dataset: dataset, batchSize: 4, padTokenId: tokenizer.padTokenId)
        let singleMetrics = try ClassificationMetrics.compute(
            labels: labels.map(Int.init), predictions: single.predictedClasses,
            probabilities: single.probabilities, classNames: names, loss: single.loss
        )
        .dictionary(prefix: "eval_")
        XCTAssertFalse(single.probabilities.contains(0), "every row computed")
        for ranks in [2, 3] {
            let results = try InProcessWorlds.run(size: ranks) { world -> Predictions in
                try Predictions.compute(model: model(), dataset: dataset, batchSize: 4, padTokenId: padTokenId, world: world)
            }
            for (rank, result) in results.enumerated() {
                XCTAssertEqual(result.probabilities.map(\.bitPattern), single.probabilities.map(\.bitPattern), "\(ranks) ranks, rank \(rank)")
                XCTAssertEqual(result.loss.bitPattern, single.loss.bitPattern, "\(ranks) ranks, rank \(rank): loss")
                let metrics = try ClassificationMetrics.compute(
                    labels: labels.map(Int.init), predictions: result.predictedClasses,
                    probabilities: result.probabilities, classNames: names, loss: result.loss
                )
                .dictionary(prefix: "eval_")
                XCTAssertEqual(metrics, singleMetrics)
            }
        }
    }

    /// Early stopping (Hugging Face's rule): with a threshold no change can pass, the first
    /// evaluation sets the best and each later one counts; patience 2 stops at the third.
    func testEarlyStoppingStopsAfterPatienceEvaluations() throws {
        let fixture = try CheckpointFixture()
        defer { fixture.remove() }
        let c = try fixture.configuration("early") {
            $0.maxSteps = 100
            $0.evalSteps = 2
            $0.saveStrategy = .no
            $0.earlyStoppingPatience = 2
            $0.earlyStoppingThreshold = 1e9
        }
        let metrics = try TrainingRun(configuration: c).run()
        XCTAssertEqual(metrics["train_steps"], 6)
        XCTAssertEqual(try logRecords(fixture.output("early")).eval.map { $0[0] }, [2, 4, 6])
    }
}
