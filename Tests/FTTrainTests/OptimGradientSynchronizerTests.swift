import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// Buckets in reverse layer order and the synchronizers that average them, with a recording
/// stand-in for the ranks (the real ring under `mpirun` is in `scripts/mpi_train_check.sh`).
final class OptimGradientSynchronizerTests: XCTestCase {
    // MARK: - Buckets

    func testBucketsRunInReverseOrderAndCoverEveryTensorOnce() {
        // Tensors of 3, 5, 2, 7, 1 elements back to back.
        let tensors = [0..<3, 3..<8, 8..<10, 10..<17, 17..<18]
        let buckets = GradientBuckets(tensors: tensors, capacity: 6, firstCapacity: 2)
        // The first bucket closes at ≥ 2 elements (17..<18 + 10..<17), the others at ≥ 6 (8..<10 + 3..<8).
        XCTAssertEqual(buckets.ranges, [10..<18, 3..<10, 0..<3])
        XCTAssertEqual(buckets.ranges.reduce(0) { $0 + $1.count }, 18)
    }

    func testATensorLargerThanTheCapacityIsABucketOfItsOwn() {
        let buckets = GradientBuckets(tensors: [0..<2, 2..<100, 100..<101], capacity: 10, firstCapacity: 10)
        XCTAssertEqual(buckets.ranges, [2..<101, 0..<2])
        let single = GradientBuckets(tensors: [0..<4, 4..<8], capacity: 4, firstCapacity: 4)
        XCTAssertEqual(single.ranges, [4..<8, 0..<4])
    }

    func testBucketsNeverSpanAGap() {
        // 5..<9 is not averaged (a frozen tensor): the buckets stop at its edges.
        let buckets = GradientBuckets(tensors: [0..<5, 9..<12, 12..<14], capacity: 100, firstCapacity: 100)
        XCTAssertEqual(buckets.ranges, [9..<14, 0..<5])
        XCTAssertEqual(GradientBuckets(tensors: [], capacity: 1, firstCapacity: 1).ranges, [])
    }

    func testReadyCountReleasesBucketsEntirelyAboveTheOffset() {
        let buckets = GradientBuckets(tensors: [0..<3, 3..<8, 8..<10, 10..<17, 17..<18], capacity: 6, firstCapacity: 2)
        XCTAssertEqual(buckets.readyCount(from: 18), 0)
        XCTAssertEqual(buckets.readyCount(from: 11), 0)
        XCTAssertEqual(buckets.readyCount(from: 10), 1)
        XCTAssertEqual(buckets.readyCount(from: 4), 1)
        XCTAssertEqual(buckets.readyCount(from: 3), 2)
        XCTAssertEqual(buckets.readyCount(from: 0), 3)
    }

    func testModelBucketsFollowTheBackwardOrder() throws {
        let model = try EncoderModel(config: config, numLabels: 3)
        let buckets = GradientBuckets(store: model.store, capacity: 200, firstCapacity: 20)
        XCTAssertEqual(buckets.ranges.first?.upperBound, model.store.count, "the head's gradients go first")
        XCTAssertEqual(buckets.ranges.last?.lowerBound, 0, "the embeddings' go last")
        for (upper, lower) in zip(buckets.ranges, buckets.ranges.dropFirst()) {
            XCTAssertEqual(lower.upperBound, upper.lowerBound, "contiguous, descending")
        }
    }

    // MARK: - Synchronizers

    private let config = EncoderConfig(
        vocabSize: 23, hiddenSize: 8, numHiddenLayers: 3, numAttentionHeads: 2,
        intermediateSize: 16, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0,
        maxPositionEmbeddings: 8)
    private let batches = [
        ClassificationStep.Batch(
            inputIds: [2, 5, 7, 0, 3, 9, 4, 1], tokenTypeIds: [0, 0, 1, 0, 0, 0, 1, 1],
            attentionMask: [1, 1, 1, 0, 1, 1, 1, 1], labels: [2, 0], sequenceLength: 4),
        ClassificationStep.Batch(
            inputIds: [8, 8, 0, 0, 6, 12, 21, 3], tokenTypeIds: [0, 0, 0, 0, 0, 1, 1, 1],
            attentionMask: [1, 1, 0, 0, 1, 1, 1, 1], labels: [1, 2], sequenceLength: 4),
        ClassificationStep.Batch(
            inputIds: [1, 2, 3, 4, 5, 6, 0, 0], tokenTypeIds: [0, 0, 0, 0, 0, 0, 0, 0],
            attentionMask: [1, 1, 1, 1, 1, 1, 0, 0], labels: [0, 1], sequenceLength: 4),
    ]

    private func makeStepper(world: BucketRecordingWorld, overlapped: Bool) throws -> (ClassificationStep, GradientBuckets) {
        let model = try EncoderModel(config: config, numLabels: 3)
        var rng = SeededRNG(seed: 11)
        model.initializeRandomly(rng: &rng, standardDeviation: 0.3)
        let schedule = LearningRateSchedule(type: .constant, baseLearningRate: 1e-2, trainingSteps: 10)
        let stepper = try ClassificationStep(
            model: model, schedule: schedule, weightDecay: 0.01, maxGradNorm: 1,
            accumulationScaling: .meanOfMicroBatchMeans)
        let buckets = GradientBuckets(store: model.store, capacity: 300, firstCapacity: 40)
        let gradients = model.store.gradients.baseAddress!
        world.base = gradients
        stepper.gradientSynchronizer =
            overlapped
            ? OverlappedGradientSynchronizer(world: world, gradients: gradients, buckets: buckets)
            : BlockingGradientSynchronizer(world: world, gradients: gradients, buckets: buckets)
        return (stepper, buckets)
    }

    /// Only the last micro-batch communicates, one all-reduce per bucket in bucket order; the
    /// overlapped and the blocking synchronizer take the very same steps.
    func testOneAllReducePerBucketPerStepAndOverlapEqualsBlocking() throws {
        let overlappedWorld = BucketRecordingWorld(), blockingWorld = BucketRecordingWorld()
        let (overlapped, buckets) = try makeStepper(world: overlappedWorld, overlapped: true)
        let (blocking, _) = try makeStepper(world: blockingWorld, overlapped: false)
        XCTAssertGreaterThan(buckets.ranges.count, 2)
        for seed in 0..<3 as Range<UInt64> {
            let a = try overlapped.step(batches, dropoutSeed: seed)
            let b = try blocking.step(batches, dropoutSeed: seed)
            XCTAssertEqual(a.loss, b.loss)
            XCTAssertEqual(a.gradientNorm, b.gradientNorm)
        }
        let expected = Array(repeating: buckets.ranges.map { $0.lowerBound..<$0.upperBound }, count: 3).flatMap { $0 }
        XCTAssertEqual(overlappedWorld.calls, expected)
        XCTAssertEqual(blockingWorld.calls, expected)
        XCTAssertEqual(Array(overlapped.model.store.values), Array(blocking.model.store.values))
    }

    /// A released bucket is averaged while the step is still in backward: here the test holds
    /// `finishStep` back until the recording world has seen the first bucket.
    func testAReleasedBucketIsAveragedBeforeFinishStep() throws {
        let world = BucketRecordingWorld()
        let store = ParameterStore(layout: [("a", [10]), ("b", [10]), ("c", [10])])
        let buckets = GradientBuckets(store: store, capacity: 10, firstCapacity: 10)
        world.base = store.gradients.baseAddress!
        let synchronizer = OverlappedGradientSynchronizer(world: world, gradients: world.base, buckets: buckets)
        for _ in 0..<2 {
            world.reset()
            synchronizer.beginStep()
            synchronizer.gradientsReady(from: 20)
            XCTAssertEqual(world.firstCall.wait(timeout: .now() + 10), .success, "bucket 20..<30 was never averaged")
            XCTAssertEqual(world.calls, [20..<30])
            try synchronizer.finishStep()
            XCTAssertEqual(world.calls, [20..<30, 10..<20, 0..<10])
            XCTAssertEqual(synchronizer.lastOverlappedBuckets, 1)
        }
    }

    /// A failing all-reduce fails the step, and the next step works again.
    func testAFailedBucketFailsTheStepOnly() throws {
        let world = BucketRecordingWorld()
        let store = ParameterStore(layout: [("a", [10]), ("b", [10]), ("c", [10])])
        let buckets = GradientBuckets(store: store, capacity: 10, firstCapacity: 10)
        world.base = store.gradients.baseAddress!
        let synchronizer = OverlappedGradientSynchronizer(world: world, gradients: world.base, buckets: buckets)
        world.failAt = 10..<20
        synchronizer.beginStep()
        XCTAssertThrowsError(try synchronizer.finishStep()) { error in
            XCTAssertEqual((error as? BucketRecordingWorld.Failure)?.range, 10..<20)
        }
        XCTAssertEqual(world.calls, [20..<30, 10..<20], "the buckets after a failure are skipped")
        world.failAt = nil
        world.reset()
        synchronizer.beginStep()
        try synchronizer.finishStep()
        XCTAssertEqual(world.calls, [20..<30, 10..<20, 0..<10])
    }

    // MARK: - Sparse embedding rows

    /// Only the rows the step's tokens use travel, and the result equals the dense average
    /// (here: a one-rank world that halves, as if the other rank's gradient were zero).
    func testSparseRowsEqualTheDenseAverage() throws {
        let sparseWorld = BucketRecordingWorld(), denseWorld = BucketRecordingWorld()
        let (dense, _) = try makeStepper(world: denseWorld, overlapped: false)
        let sparseModel = try EncoderModel(config: config, numLabels: 3)
        sparseModel.store.values.baseAddress!.update(from: dense.model.store.values.baseAddress!, count: sparseModel.store.count)
        let sparse = try ClassificationStep(
            model: sparseModel, schedule: dense.schedule, weightDecay: 0.01, maxGradNorm: 1,
            accumulationScaling: .meanOfMicroBatchMeans)
        sparseWorld.base = sparseModel.store.gradients.baseAddress!
        let synchronizer = makeGradientSynchronizer(world: sparseWorld, model: sparseModel, overlap: true, bucketCapMB: 0.001)
        sparse.gradientSynchronizer = synchronizer
        let rows = try XCTUnwrap(synchronizer.sparseRows)
        XCTAssertEqual(rows.range, sparseModel.store.view("embeddings.word_embeddings.weight").range)
        XCTAssertFalse(synchronizer.buckets.ranges.contains { $0.overlaps(rows.range) }, "the table is not in a dense bucket")
        for seed in 0..<2 as Range<UInt64> {
            let a = try sparse.step(batches, dropoutSeed: seed), b = try dense.step(batches, dropoutSeed: seed)
            XCTAssertEqual(a.gradientNorm, b.gradientNorm)
            XCTAssertEqual(Array(sparseModel.store.gradients), Array(dense.model.store.gradients))
        }
        XCTAssertEqual(Array(sparseModel.store.values), Array(dense.model.store.values))
        let used = Set(batches.flatMap(\.inputIds))
        XCTAssertEqual(rows.lastRowCount, used.count)
        // The last call of a step is the packed rows: used rows × hidden size floats.
        XCTAssertEqual(sparseWorld.calls.last?.count, used.count * config.hiddenSize)
    }

    // MARK: - Parameter checksum

    func testParameterChecksumSeesEveryBit() {
        var values: [Float] = (0..<1001).map { Float($0) * 0.37 - 20 }
        let reference = values.withUnsafeBufferPointer { ParameterChecksum.of($0) }
        XCTAssertEqual(values.withUnsafeBufferPointer { ParameterChecksum.of($0) }, reference)
        for index in [0, 3, 500, 999, 1000] {
            for bit in [0, 17, 31] as [UInt32] {
                var changed = values
                changed[index] = Float(bitPattern: changed[index].bitPattern ^ (1 << bit))
                XCTAssertNotEqual(
                    changed.withUnsafeBufferPointer { ParameterChecksum.of($0) }, reference,
                    "bit \(bit) of element \(index)")
            }
        }
        values.append(0)
        XCTAssertNotEqual(values.withUnsafeBufferPointer { ParameterChecksum.of($0) }, reference, "a longer buffer")
    }
}

/// A one-rank stand-in for the ranks that records which ranges it averaged (halving them, as if
/// a second rank had a zero gradient) and can fail on a chosen range.
private final class BucketRecordingWorld: TrainingWorld, @unchecked Sendable {
    struct Failure: Error { let range: Range<Int> }
    private let lock = NSLock()
    private var recorded: [Range<Int>] = []
    var failAt: Range<Int>?
    /// The gradient buffer, so calls are recorded as offsets into it.
    var base: UnsafeMutablePointer<Float>!
    /// Signalled at the first gradient all-reduce after `reset`.
    private(set) var firstCall = DispatchSemaphore(value: 0)
    var calls: [Range<Int>] { lock.withLock { recorded } }
    let rank = 0, size = 2

    func reset() {
        lock.withLock {
            recorded = []
            firstCall = DispatchSemaphore(value: 0)
        }
    }

    func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}

    func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        let range = (buffer - base)..<(buffer - base + count)
        let first: Bool = lock.withLock {
            recorded.append(range)
            return recorded.count == 1
        }
        if first { firstCall.signal() }
        if range == failAt { throw Failure(range: range) }
        for i in 0..<count { buffer[i] *= 0.5 }
    }

    func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    func checkSame(_ value: UInt64, what: String) throws {}

}
