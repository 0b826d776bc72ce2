import XCTest
import Foundation
@testable import FTDist

/// The α–β model against formulas worked by hand (in the comments), the choice `auto` makes,
/// the step-time model's overlap, and the JSON file `ddp_cost_model` reads.
final class AllReduceCostModelTests: XCTestCase {
    /// Shared memory α 1 µs, β 1 ns/B; network α 10 µs, β 4 ns/B; γ 0.5 ns/B; 1 MiB segments.
    let model = AllReduceCostModel(
        sharedMemory: .init(alpha: 1e-6, beta: 1e-9), network: .init(alpha: 10e-6, beta: 4e-9),
        reduceSecondsPerByte: 0.5e-9, source: "test")

    func testRingOnOneNode() {
        // 4 ranks, 4000 B: chunk 1000 B. 3 reduce steps of (1 + 1 + 0.5) µs, 3 gather steps of 2 µs
        // = 13.5 µs; length agreement 2 steps of (1 µs + 32 ns) = 2.064 µs.
        let seconds = model.predictedSeconds(.ring, bytes: 4000, layout: .init(nodes: 1, ranksPerNode: 4))
        XCTAssertEqual(seconds, 13.5e-6 + 2.064e-6, accuracy: 1e-12)
    }

    func testHalvingDoublingPowerOfTwoAndFold() {
        // 4 ranks, 4000 B: d = 2 moves 2000 B: 2·(1 + 2) µs + 1 µs; d = 1 moves 1000 B: 2·(1 + 1) µs
        // + 0.5 µs; total 11.5 µs + agreement 2.064 µs.
        XCTAssertEqual(
            model.predictedSeconds(.halvingDoubling, bytes: 4000, layout: .init(nodes: 1, ranksPerNode: 4)),
            11.5e-6 + 2.064e-6, accuracy: 1e-12)
        // 3 ranks: fold + unfold 2·(1 + 4) µs + 2 µs = 12 µs; p = 2: d = 1 moves 2000 B: 2·3 + 1 = 7 µs;
        // agreement 1 + 2 steps of 1.032 µs.
        XCTAssertEqual(
            model.predictedSeconds(.halvingDoubling, bytes: 4000, layout: .init(nodes: 1, ranksPerNode: 3)),
            19e-6 + 3 * 1.032e-6, accuracy: 1e-12)
    }

    func testHierarchicalTwoByTwo() {
        // Intra ring over 2 on 4000 B: (1 + 2 + 1) + (1 + 2) = 7 µs. Shards of 2000 B across 2 nodes,
        // 2 streams per interface: ring (10 + 1000·4·2 ns + 0.5) + (10 + 8) = 36.5 µs, halving the
        // same; agreement over the network: 2 · (10 µs + 128 ns).
        let layout = AllReduceCostModel.Layout(nodes: 2, ranksPerNode: 2)
        XCTAssertEqual(model.predictedSeconds(.hierarchical, bytes: 4000, layout: layout), 43.5e-6 + 20.256e-6, accuracy: 1e-12)
        // The flat ring over 4 ranks crosses the network every step: 3·(10 + 4 + 0.5) + 3·14 µs.
        XCTAssertEqual(model.predictedSeconds(.ring, bytes: 4000, layout: layout), 85.5e-6 + 20.256e-6, accuracy: 1e-12)
    }

    func testSegmentsEachPayLatency() {
        // 3 MiB in 1 MiB segments: 3 α.
        XCTAssertEqual(model.message(3 * 1_048_576, model.sharedMemory), 3e-6 + 3 * 1_048_576 * 1e-9, accuracy: 1e-12)
        XCTAssertEqual(model.message(0, model.network), 0)
        XCTAssertEqual(model.predictedSeconds(.ring, bytes: 0, layout: .init(nodes: 4, ranksPerNode: 4)), 0)
        XCTAssertEqual(model.predictedSeconds(.hierarchical, bytes: 1000, layout: .init(nodes: 1, ranksPerNode: 1)), 0)
    }

    func testAutoIsTheMinimumAndPicksTheExpectedRegimes() {
        let defaults = AllReduceCostModel.defaults
        for layout in [AllReduceCostModel.Layout(nodes: 1, ranksPerNode: 6), .init(nodes: 64, ranksPerNode: 8), .init(nodes: 512, ranksPerNode: 1)] {
            for bytes in [4, 4096, 300_000, 1 << 20, 26_214_400, 90_800_000] {
                let all = AllReduceAlgorithm.modelled.map { defaults.predictedSeconds($0, bytes: bytes, layout: layout) }
                XCTAssertEqual(defaults.predictedSeconds(.auto, bytes: bytes, layout: layout), all.min()!, "\(layout) \(bytes)")
            }
        }
        // 512 ranks on 64 nodes: a LoRA-sized 300 KB buffer is latency-bound, the ring's 1022 hops lose.
        let big = AllReduceCostModel.Layout(nodes: 64, ranksPerNode: 8)
        XCTAssertNotEqual(defaults.fastest(bytes: 300_000, layout: big), .ring)
        XCTAssertLessThan(
            defaults.predictedSeconds(.auto, bytes: 300_000, layout: big) * 10,
            defaults.predictedSeconds(.ring, bytes: 300_000, layout: big))
        // 25 MiB across nodes: hierarchical.
        XCTAssertEqual(defaults.fastest(bytes: 26_214_400, layout: big), .hierarchical)
    }

    func testStepModelOverlapsBuckets() {
        // Buckets 1 MiB then 25 MiB caps.
        XCTAssertEqual(
            StepTimeModel.buckets(totalBytes: 60 << 20, firstBucketBytes: 1 << 20, bucketBytes: 25 << 20), [1 << 20, 25 << 20, 25 << 20, 9 << 20])
        XCTAssertEqual(StepTimeModel.buckets(totalBytes: 0, firstBucketBytes: 1, bucketBytes: 1), [])
        // Two buckets of 1000 B on 4 ranks of one node: each ring costs 13.5 + 2.064 µs = 15.564 µs.
        // Forward 10 µs, backward 20 µs: bucket 1 ready at 20 µs, ends 35.564; bucket 2 ready at 30,
        // starts 35.564, ends 51.128 µs. Without overlap: 30 + 2 · 15.564.
        let step = StepTimeModel(forwardSeconds: 10e-6, backwardSeconds: 20e-6, bucketBytes: [4000, 4000])
        let layout = AllReduceCostModel.Layout(nodes: 1, ranksPerNode: 4)
        XCTAssertEqual(step.stepSeconds(costModel: model, algorithm: .ring, layout: layout), 51.128e-6, accuracy: 1e-12)
        XCTAssertEqual(step.stepSeconds(costModel: model, algorithm: .ring, layout: layout, overlap: false), 61.128e-6, accuracy: 1e-12)
        XCTAssertEqual(step.efficiency(costModel: model, algorithm: .ring, layout: .init(nodes: 1, ranksPerNode: 1)), 1)
    }

    func testFileRoundTripAndErrorsNameTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("costmodel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.json").path
        try model.write(to: path)
        XCTAssertEqual(try AllReduceCostModel.load(contentsOf: path), model)

        try Data("{\"nope\": 1}".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try AllReduceCostModel.load(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("ddp_cost_model \(path) is not a cost model"), "\(error)")
        }
        var negative = model
        negative.network.beta = -1
        try negative.write(to: path)
        XCTAssertThrowsError(try AllReduceCostModel.load(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".contains("network.beta = -1.0"), "\(error)")
        }
        XCTAssertThrowsError(try AllReduceCostModel.load(contentsOf: directory.appendingPathComponent("missing.json").path)) { error in
            XCTAssertTrue("\(error)".contains("missing.json cannot be read"), "\(error)")
        }
    }

    func testLargeBuffersUseTheFiguresFromMemory() {
        var twoRegimes = model
        twoRegimes.largeBuffers = .init(thresholdBytes: 8000, sharedMemoryBeta: 3e-9, networkBeta: 8e-9, reduceSecondsPerByte: 2e-9)
        let layout = AllReduceCostModel.Layout(nodes: 1, ranksPerNode: 4)
        // At or under the threshold nothing changes.
        XCTAssertEqual(
            twoRegimes.predictedSeconds(.ring, bytes: 8000, layout: layout), model.predictedSeconds(.ring, bytes: 8000, layout: layout))
        // 4 ranks, 16000 B over it: chunk 4000 B. 3 reduce steps of (1 + 12 + 8) µs, 3 gather steps of
        // (1 + 12) µs = 102 µs; length agreement 2 steps of (1 µs + 32 · 3 ns) = 2.192 µs.
        XCTAssertEqual(twoRegimes.predictedSeconds(.ring, bytes: 16000, layout: layout), 102e-6 + 2.192e-6, accuracy: 1e-12)
        XCTAssertNil(twoRegimes.figures(forBufferBytes: 16000).largeBuffers)
        XCTAssertEqual(twoRegimes.figures(forBufferBytes: 16000).network.beta, 8e-9)
    }

    func testLargeBufferFiguresInFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("costmodel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.json").path
        // A file written before large-buffer figures existed still loads, with one regime.
        try model.write(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(text.contains("largeBuffers"))
        XCTAssertNil(try AllReduceCostModel.load(contentsOf: path).largeBuffers)

        var twoRegimes = model
        twoRegimes.largeBuffers = .init(thresholdBytes: 8 << 20, sharedMemoryBeta: 3e-10, networkBeta: 8e-9, reduceSecondsPerByte: 2e-10)
        try twoRegimes.write(to: path)
        XCTAssertEqual(try AllReduceCostModel.load(contentsOf: path), twoRegimes)

        twoRegimes.largeBuffers?.thresholdBytes = 0
        try twoRegimes.write(to: path)
        XCTAssertThrowsError(try AllReduceCostModel.load(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".contains("largeBuffers.thresholdBytes = 0"), "\(error)")
        }
    }
}
