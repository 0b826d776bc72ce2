import FTModel
import FTTrain
import Foundation
import TestSupport
import XCTest

/// A tiny model, a small three-class data set and run settings for checkpoint tests (seconds).
struct CheckpointFixture {
    let directory: URL
    let modelDirectory: URL
    let trainFile: String

    static let words = [
        "good", "great", "fine", "bad", "awful", "dull", "the", "movie", "film", "was", "is", "a",
        "story", "about", "man", "woman", "who", "finds", "city", ".", ",", "!",
    ]

    init(rows: Int = 90, family: EncoderFamily = .bert) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-ckpt-\(UUID().uuidString)")
        modelDirectory = directory.appendingPathComponent("model")
        try TinyModelDirectory.write(to: modelDirectory, words: Self.words, family: family)
        let positive = ["good", "great", "fine"], negative = ["bad", "awful", "dull"], nouns = ["movie", "film", "story"]
        var lines = ["label,text"]
        for i in 0..<rows {
            let a = i / 3 % 3, b = i / 9 % 3, n = i / 27 % 3
            switch i % 3 {
            case 0: lines.append("fresh,\"the \(nouns[n]) was \(positive[a]) , \(positive[b]) \(i)\"")
            case 1: lines.append("rotten,a \(nouns[n]) is \(negative[a]) and \(negative[b]) \(i)")
            default: lines.append("plot,a \(["man", "woman"][a % 2]) who finds a \(nouns[n]) \(i)")
            }
        }
        trainFile = directory.appendingPathComponent("train.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: trainFile, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// Settings: 4 × accumulation 2 per rank, checkpoints and evaluations every 5 steps, dropout on
    /// (the tiny model's config has 0.1), a warmup and linear decay, every step logged.
    func configuration(_ name: String, _ change: (inout TrainingConfiguration) -> Void = { _ in }) throws -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.outputDir = directory.appendingPathComponent(name).path
        c.modelDir = modelDirectory.path
        c.trainFile = trainFile
        c.maxSteps = 22
        c.perDeviceTrainBatchSize = 4
        c.gradientAccumulationSteps = 2
        c.learningRate = 3e-3
        c.warmupRatio = 0.1
        c.weightDecay = 0.01
        c.loggingSteps = 1
        c.seed = 3
        c.maxLength = 16
        c.saveStrategy = .steps
        c.saveSteps = 5
        c.evalStrategy = .steps
        c.evalSteps = 5
        c.perDeviceEvalBatchSize = 4
        change(&c)
        try c.validate()
        return c
    }

    func output(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// Counts the steps of a run and asks it to stop at one of them, as a signal would.
final class StopAtStep: @unchecked Sendable {
    let step: Int
    private(set) var calls = 0
    init(_ step: Int) { self.step = step }
    func callAsFunction() -> Int32? {
        calls += 1
        return calls == step ? SIGTERM : nil
    }
}

/// The training records of a `log.jsonl` (step, loss, grad_norm, learning_rate) and evaluation
/// records (step, eval_loss, eval_accuracy), exactly as written.
func logRecords(_ output: URL) throws -> (train: [[Double]], eval: [[Double]]) {
    let text = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8)
    var train: [[Double]] = [], eval: [[Double]] = []
    for line in text.split(separator: "\n") {
        let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        func value(_ key: String) -> Double { (record[key] as? NSNumber)?.doubleValue ?? .nan }
        if record["loss"] != nil {
            train.append([value("step"), value("loss"), value("grad_norm"), value("learning_rate")])
        } else if record["eval_loss"] != nil {
            eval.append([value("step"), value("eval_loss"), value("eval_accuracy"), value("eval_f1_macro")])
        }
    }
    return (train, eval)
}

/// The exported model's parameters.
func finalModelBytes(_ output: URL) throws -> Data {
    try Data(contentsOf: output.appendingPathComponent("model/model.safetensors"))
}
