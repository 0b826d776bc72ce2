import FTCore
import FTModel
@testable import FTTrain
import XCTest

/// The training loop's pieces on their own: the plan's arithmetic, the epoch's batches (and a
/// resume into the middle of an epoch), Hugging Face's early-stopping rule, and the progress
/// that is a checkpoint's payload.
final class TrainingPiecesTests: XCTestCase {
    /// Example i has i % 5 + 1 tokens, all of them i, and label i % 3.
    func dataset(_ count: Int) -> EncodedDataset {
        let encodings = (0..<count).map { i in
            TokenizerEncoding(
                inputIds: Array(repeating: Int32(i), count: i % 5 + 1), tokenTypeIds: Array(repeating: 0, count: i % 5 + 1),
                attentionMask: Array(repeating: 1, count: i % 5 + 1))
        }
        return EncodedDataset(
            encodings: encodings, labels: (0..<count).map { Int32($0 % 3) }, texts: Array(repeating: "", count: count),
            pairs: Array(repeating: nil, count: count))
    }

    func plan(
        examples: Int = 23, batch: Int = 4, accumulation: Int = 4, ranks: Int = 1, dropLast: Bool = false,
        maxSteps: Int = -1, epochs: Double = 1.5
    ) throws -> TrainingPlan {
        try TrainingPlan(
            batchSize: batch, accumulation: accumulation, ranks: ranks, trainExamples: examples, dropLast: dropLast,
            maxSteps: maxSteps, epochs: epochs, scheduleType: .linear, learningRate: 1e-3, warmupRatio: 0.1)
    }

    func testPlanCountsStepsAsTheTrainerDoes() throws {
        // 23 examples over 2 ranks: 12 each (the order padded), 3 micro-batches of 4, steps of 2 and 1.
        let p = try plan(accumulation: 2, ranks: 2)
        XCTAssertEqual([p.shardSize, p.microBatchesPerEpoch, p.updatesPerEpoch, p.totalSteps, p.schedule.warmupSteps], [12, 3, 2, 3, 1])
        XCTAssertEqual(p.globalBatchSize, 16)
        XCTAssertEqual(try plan(maxSteps: 7).totalSteps, 7)
        // Drop-last: 11 per rank, two whole micro-batches.
        XCTAssertEqual(try plan(accumulation: 1, ranks: 2, dropLast: true).microBatchesPerEpoch, 2)
        XCTAssertThrowsError(try plan(examples: 5, batch: 4, ranks: 2, dropLast: true)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(ModelError.badInput("5 training examples over 2 ranks give 2 per rank, fewer than one batch of 4 with dataloader_drop_last"))")
        }
        var c = TrainingConfiguration()
        c.perDeviceTrainBatchSize = 4
        c.numTrainEpochs = 0
        let local = try TrainingPlan.localRound(configuration: c, trainExamples: 23, ranks: 1)
        XCTAssertEqual([local.accumulation, local.updatesPerEpoch, local.totalSteps], [1, 6, 1], "one micro-batch a step, at least one step")
        XCTAssertEqual(local.schedule, LearningRateSchedule(type: .constant, baseLearningRate: c.learningRate, trainingSteps: 1))
    }

    func testPlanContinuesTheSavedSchedule() throws {
        let p = try plan()
        let saved = SchedulerState(LearningRateSchedule(type: .cosine, baseLearningRate: 2e-5, warmupSteps: 3, trainingSteps: 40), lastStep: 9)
        var notes: [String] = []
        let continued = p.continuing(saved, totalSteps: 40) { notes.append($0) }
        XCTAssertEqual(continued.schedule, saved.schedule)
        XCTAssertEqual(continued.totalSteps, 40)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(p.continuing(SchedulerState(p.schedule, lastStep: 0), totalSteps: p.totalSteps) { XCTFail($0) } == p)
    }

    /// The micro-batches are the shard's order cut in batches (the last one short), `accumulation`
    /// per step; starting at step k gives exactly the steps from k on.
    func testEpochBatchesCutTheShardAndResumeMidEpoch() throws {
        let data = dataset(23), p = try plan(accumulation: 2, ranks: 2)
        let batches = EpochBatches(dataset: data, plan: p, rank: 1, seed: 9, padTokenId: -1)
        let order = EpochOrder.shard(EpochOrder.permutation(count: 23, seed: 9, epoch: 2), rank: 1, ranks: 2)
        XCTAssertEqual(batches.order(epoch: 2), order)
        func rows(_ update: EpochBatches.Update) -> [[[Int32]]] {
            update.microBatches.map { b in (0..<b.batchSize).map { Array(b.inputIds[($0 * b.sequenceLength)..<(($0 + 1) * b.sequenceLength)]) } }
        }
        let all = Array(batches.updates(epoch: 2)).map { ($0.index, rows($0), $0.samples) }
        XCTAssertEqual(all.map(\.0), [0, 1])
        XCTAssertEqual(all.map { $0.1.count }, [2, 1], "micro-batches per step")
        XCTAssertEqual(all.map(\.2), [8, 4])
        let flat = all.flatMap { $0.1 }.flatMap { $0 }
        XCTAssertEqual(flat.count, 12)
        for (row, index) in zip(flat, order) {
            let length = index % 5 + 1
            XCTAssertEqual(Array(row.prefix(length)), Array(repeating: Int32(index), count: length))
            XCTAssertTrue(row.dropFirst(length).allSatisfy { $0 == -1 }, "padded with the pad id")
        }
        let tail = Array(batches.updates(epoch: 2, from: 1)).map { ($0.index, rows($0)) }
        XCTAssertEqual(tail.map(\.0), [1])
        XCTAssertEqual(tail[0].1, all[1].1)
        XCTAssertEqual(Array(batches.updates(epoch: 2, from: 2)).count, 0)
    }

    /// EarlyStoppingCallback: an evaluation counts as an improvement when it beats the best so
    /// far by more than the threshold; a new best (by any margin) is tracked regardless.
    func testTrackerFollowsEarlyStoppingCallback() {
        var tracker = BestModelTracker(greaterIsBetter: true, threshold: 0.01, patience: 2, keepsParameters: true)
        var reads = 0
        func record(_ value: Double, _ step: Int) -> Bool {
            tracker.record(value, step: step) {
                reads += 1
                return [Float(step)]
            }
        }
        XCTAssertTrue(record(0.5, 1))
        XCTAssertTrue(record(0.505, 2), "a new best, within the threshold")
        XCTAssertEqual(tracker.patienceCounter, 1)
        XCTAssertFalse(record(0.4, 3))
        XCTAssertEqual(tracker.patienceCounter, 2)
        XCTAssertTrue(tracker.shouldStop)
        XCTAssertTrue(record(0.6, 4))
        XCTAssertEqual(tracker.patienceCounter, 0)
        XCTAssertEqual(reads, 3)
        XCTAssertEqual(tracker.best?.parameters, [4])
        XCTAssertEqual(tracker.parametersWithoutCheckpoint, [4], "no checkpoint holds the best yet")
        tracker.saved("checkpoint-3", step: 3)
        XCTAssertNil(tracker.checkpoint)
        tracker.saved("checkpoint-4", step: 4)
        XCTAssertEqual(tracker.checkpoint, "checkpoint-4")
        XCTAssertNil(tracker.parametersWithoutCheckpoint)
        var lower = BestModelTracker(greaterIsBetter: false)
        XCTAssertTrue(lower.record(1, step: 1) { [] })
        XCTAssertFalse(lower.record(2, step: 2) { [] })
        XCTAssertFalse(lower.shouldStop, "no patience: never stops")
        XCTAssertEqual(lower.best?.parameters, [], "parameters not kept")
    }

    /// The progress a checkpoint saves is the progress a resume restores.
    func testProgressRoundTripsThroughTheCheckpointStates() throws {
        let data = dataset(23), p = try plan(accumulation: 2, ranks: 1)
        let batches = EpochBatches(dataset: data, plan: p, rank: 0, seed: 1, padTokenId: 0)
        var progress = TrainingProgress(
            dropout: SeededRNG(seed: 5, stream: 0xD0),
            bestModel: BestModelTracker(threshold: 0.1, patience: 3, keepsParameters: true))
        // Steps without a model: the progress's bookkeeping alone.
        for update in batches.updates(epoch: 0) {
            progress.account(loss: 0.25 * Float(update.index + 1), samples: update.samples, synchronizationSeconds: 0)
        }
        _ = progress.bestModel.record(0.7, step: 0) { [1, 2] }
        _ = progress.bestModel.record(0.75, step: 0) { [3, 4] }
        progress.endEpoch()
        let states = progress.checkpoint(plan: p, rank: 0, seed: 42, parameterCount: 2, logHistory: [])
        XCTAssertEqual(states.trainer.cursor, .init(epoch: 1, updateInEpoch: 0))
        XCTAssertEqual(states.trainer.epoch, 1)
        XCTAssertEqual([states.trainer.worldSize, states.trainer.gradientAccumulationSteps, states.trainer.trainExamples], [1, 2, 23])
        XCTAssertEqual(states.trainer.windowSteps, 3)
        XCTAssertEqual(states.trainer.earlyStoppingPatienceCounter, 1)
        let restored = TrainingProgress(
            restoring: states.trainer, rank: states.rank, freshDropout: SeededRNG(seed: 0),
            rules: progress.bestModel
        ) { [3, 4] }
        let again = restored.checkpoint(plan: p, rank: 0, seed: 42, parameterCount: 2, logHistory: [])
        XCTAssertEqual(again.trainer, states.trainer)
        XCTAssertEqual(again.rank, states.rank)
        XCTAssertEqual(restored.bestModel.best?.parameters, [3, 4])
        XCTAssertEqual(restored.dropout, progress.dropout)
        // Without this rank's state (another number of ranks), the fresh stream one draw per step on.
        var elsewhere = states.trainer
        elsewhere.globalStep = 3
        var fresh = SeededRNG(seed: 5, stream: 0xD1)
        let derived = TrainingProgress(restoring: elsewhere, rank: nil, freshDropout: fresh, rules: BestModelTracker()) { [] }
        for _ in 0..<3 { _ = fresh.next() }
        XCTAssertEqual(derived.dropout, fresh)
        XCTAssertEqual(derived.step, 3)
    }
}
