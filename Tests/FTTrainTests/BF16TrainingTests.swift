import FTCore
import FTTrain
import Foundation
import XCTest

/// `bf16: true` end to end on the tiny checkpoint fixture: a bf16 run stopped and resumed is the
/// uninterrupted bf16 run bit for bit (as float32 runs are); full fine-tuning, LoRA and two
/// data-parallel ranks with bf16 gradients on the wire all train, and stay near the float32 run.
final class BF16TrainingTests: XCTestCase {
    var fixture: CheckpointFixture!
    var savedThreads = 1

    override func setUpWithError() throws {
        fixture = try CheckpointFixture()
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDown() {
        Parallel.threadCount = savedThreads
        fixture.remove()
    }

    func testStoppedAndResumedBF16RunIsBitwiseTheUninterruptedOne() throws {
        let whole = try fixture.configuration("whole") { $0.bf16 = true }
        try TrainingRun(configuration: whole).run()
        let split = try fixture.configuration("split") { $0.bf16 = true }
        let first = TrainingRun(configuration: split)
        first.stopRequested = StopAtStep(13).callAsFunction
        XCTAssertThrowsError(try first.run())
        var resume = split
        resume.resumeFromCheckpoint = "latest"
        try TrainingRun(configuration: resume).run()

        let a = try logRecords(fixture.output("whole")), b = try logRecords(fixture.output("split"))
        XCTAssertEqual(a.train.count, 22)
        XCTAssertEqual(a.train, b.train, "loss, grad_norm and learning_rate of every step")
        XCTAssertEqual(a.eval, b.eval, "every evaluation")
        XCTAssertEqual(try finalModelBytes(fixture.output("whole")), try finalModelBytes(fixture.output("split")))
        let saved = try String(contentsOf: fixture.output("whole").appendingPathComponent("training_config.yaml"), encoding: .utf8)
        XCTAssertTrue(saved.contains("bf16: true"), "the run's configuration records bf16")
    }

    /// Full fine-tuning, LoRA, and two ranks with `ddp_bf16_compression`: each bf16 run's losses
    /// follow its float32 twin's (first step within 1%, every step within 10% — the runs diverge
    /// slowly as rounding feeds back through the updates) and differ from them when the CPU has
    /// bf16 instructions (the products really round).
    func testFullLoRAAndDataParallelRunsFollowFloat32() throws {
        func lora(_ c: inout TrainingConfiguration) {
            c.peft = .lora
            c.loraR = 2
            c.learningRate = 1e-3
        }
        let cases: [(name: String, change: (inout TrainingConfiguration) -> Void, ranks: Int)] = [
            ("full", { _ in }, 1), ("lora", lora, 1),
            (
                "ddp",
                {
                    $0.perDeviceTrainBatchSize = 2
                    $0.ddpBF16Compression = true
                }, 2
            ),
        ]
        for (name, change, ranks) in cases {
            var losses: [[Double]] = []
            for bf16 in [false, true] {
                let c = try fixture.configuration("\(name)-\(bf16)") {
                    change(&$0)
                    $0.bf16 = bf16
                }
                if ranks == 1 {
                    try TrainingRun(configuration: c).run()
                } else {
                    _ = try InProcessWorlds.run(size: ranks, bf16: c.ddpBF16Compression) { world in
                        try TrainingRun(configuration: c, world: world).run()
                    }
                }
                losses.append(try logRecords(fixture.output("\(name)-\(bf16)")).train.map { $0[1] })
            }
            let (fp32, bf16) = (losses[0], losses[1])
            XCTAssertEqual(fp32.count, 22, name)
            XCTAssertEqual(bf16.count, 22, name)
            XCTAssertEqual(bf16[0], fp32[0], accuracy: 0.01 * fp32[0], "\(name): first loss")
            for (step, (x, y)) in zip(bf16, fp32).enumerated() {
                XCTAssertEqual(x, y, accuracy: 0.1 * y + 0.02, "\(name): loss of step \(step + 1)")
            }
            XCTAssertLessThan(bf16.suffix(4).reduce(0, +), bf16.prefix(4).reduce(0, +), "\(name): the bf16 run learns")
            if BF16Products.usesBF16Instructions { XCTAssertNotEqual(bf16, fp32, "\(name): bf16 products round") }
        }
    }
}
