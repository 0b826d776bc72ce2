import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// A world of two ranks that records what the trainer sends through each collective (every
/// collective acts as if the other rank held the same values).
final class RecordingWorld: TrainingWorld {
    var gradientCounts: [Int] = []
    var broadcastCounts: [Int] = []
    var rank: Int { 0 }
    var size: Int { 2 }
    func averageInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    func averageGradientsInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws { gradientCounts.append(count) }
    func broadcastFromCoordinator(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws { broadcastCounts.append(count) }
    func checkSame(_ value: UInt64, what: String) throws {}
}

final class PEFTTrainingRunTests: XCTestCase {
    /// With LoRA on query and value, the all-reduce carries A, B and the head only — every step.
    func testOnlyTrainableGradientsAreAllReduced() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-peft-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let words = ["good", "bad", "film", "plot"]
        try TinyModelDirectory.write(to: directory.appendingPathComponent("model"), words: words)
        var lines = ["label,text"]
        for i in 0..<40 { lines.append(i % 2 == 0 ? "pos,good film \(i % 7)" : "neg,bad plot \(i % 7)") }
        try (lines.joined(separator: "\n") + "\n").write(to: directory.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        var c = TrainingConfiguration()
        c.modelDir = directory.appendingPathComponent("model").path
        c.trainFile = directory.appendingPathComponent("train.csv").path
        c.outputDir = directory.appendingPathComponent("out").path
        c.maxSteps = 3
        c.peft = .lora
        c.loraR = 2
        c.deduplicate = false
        c.saveStrategy = .no  // one process posing as two cannot write the second rank's checkpoint state
        try c.validate()
        let world = RecordingWorld()
        try TrainingRun(configuration: c, world: world).run()
        // 2 layers × (query, value) × (A 2×32 + B 32×2) + head 2×32 + 2
        let trainable = 2 * 2 * 128 + 66
        // One bucket a step (the whole trainable part is far below the 1 MiB first bucket).
        XCTAssertEqual(world.gradientCounts, [trainable, trainable, trainable], "the gradient all-reduce holds the trainable part only")
        XCTAssertGreaterThan(world.broadcastCounts.first ?? 0, 10 * trainable, "the start-up broadcast still sends every parameter")
        let adapter = try PEFTAdapter.read(directory: directory.appendingPathComponent("out/adapter"))
        XCTAssertEqual(adapter.tensors.reduce(0) { $0 + $1.values.count }, trainable)
    }
}
