import FTCore
import FTModel
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

    /// `save_dtype: bfloat16` / `float16` write `model/model.safetensors` in that dtype (half the
    /// bytes, `torch_dtype` in config.json), checkpoints stay float32, and fttrain loads the files
    /// back: every weight the float32 export's rounded to nearest, logits within 2% of them.
    func testSaveDTypeWritesHalfPrecisionModelsThatLoadBack() throws {
        let reference = try fixture.configuration("f32") { $0.maxSteps = 6 }
        try TrainingRun(configuration: reference).run()
        let f32File = try SafeTensorsFile(path: fixture.output("f32").appendingPathComponent("model/model.safetensors").path)
        for (dtype, torchName) in [(SaveDType.bfloat16, "bfloat16"), (.float16, "float16")] {
            let name = "\(dtype)"
            let c = try fixture.configuration(name) {
                $0.maxSteps = 6
                $0.saveDtype = dtype
            }
            try TrainingRun(configuration: c).run()
            let model = fixture.output(name).appendingPathComponent("model")
            let file = try SafeTensorsFile(path: model.appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(Set(file.tensors.map(\.dtype)), [dtype.safeTensorsDType], name)
            for info in f32File.tensors {
                let exact = try f32File.floats(info.name), stored = try file.floats(info.name)
                let rounded = exact.map {
                    dtype == .bfloat16
                        ? HalfPrecision.float(fromBF16Bits: HalfPrecision.bf16Bits(from: $0))
                        : HalfPrecision.float(fromF16Bits: HalfPrecision.f16Bits(from: $0))
                }
                XCTAssertEqual(stored, rounded, "\(name): \(info.name) is the float32 weight rounded")
            }
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config.json"))) as? [String: Any]
            XCTAssertEqual(config?["torch_dtype"] as? String, torchName)
            let checkpoint = try SafeTensorsFile(
                path: fixture.output(name).appendingPathComponent("checkpoint-5/model.safetensors").path)
            XCTAssertEqual(Set(checkpoint.tensors.map(\.dtype)), [.F32], "\(name): checkpoints keep float32")

            // fttrain loads the half-precision model; its logits follow the float32 export's.
            let half = try ModelRegistry.load(modelDirectory: model, numLabels: 3)
            let full = try ModelRegistry.load(modelDirectory: fixture.output("f32").appendingPathComponent("model"), numLabels: 3)
            let ids: [Int32] = [2, 5, 9, 11, 3, 0, 7, 8], types = [Int32](repeating: 0, count: 8), mask = [Int32](repeating: 1, count: 8)
            func logits(_ m: any SequenceModel) throws -> [Float] {
                let out = try m.forward(
                    inputIds: ids, tokenTypeIds: types, attentionMask: mask, batch: 2, sequence: 4, training: false,
                    dropoutSeed: 0, firstTokenOnly: true)
                return Array(UnsafeBufferPointer(start: out.logits!, count: 6))
            }
            let a = try logits(half), b = try logits(full)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 0.02 * abs(y) + 0.01, "\(name): logits") }
        }
    }
}
