import FTCore
import FTModel
import Foundation
import XCTest

@testable import FTTrain

/// Multi-label and regression through the whole trainer on the tiny BERT: the loss falls, the
/// metrics and reports are the problem type's, `config.json` carries `problem_type` and the
/// exported model loads back with its head; LoRA trains the same heads; two ranks at batch 2 train
/// like one process at batch 4 (the BCE and MSE means are per micro-batch, averaged over ranks).
final class ProblemTypeTrainingTests: XCTestCase {
    var fixture: CheckpointFixture!
    var savedThreads = 1

    override func setUpWithError() throws {
        fixture = try CheckpointFixture(rows: 6)
        savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
    }

    override func tearDown() {
        Parallel.threadCount = savedThreads
        fixture.remove()
    }

    /// 72 rows of the fixture's words: multi-label tags (`pos`, `neg`, `plot`, some rows none,
    /// some two) or a score (positive words minus negative words, plus a quarter).
    func writeData(regression: Bool) throws -> String {
        let positive = ["good", "great", "fine"], negative = ["bad", "awful", "dull"], nouns = ["movie", "film", "story"]
        var lines: [String] = []
        for i in 0..<72 {
            let p = i % 3, n = i / 3 % 3, noun = nouns[i / 9 % 3]
            var words = ["the", noun]
            var tags: [String] = []
            var score = 0.25
            if p > 0 {
                words += ["was"] + positive.prefix(p)
                tags.append("pos")
                score += Double(p)
            }
            if n > 0 {
                words += ["is"] + negative.prefix(n)
                tags.append("neg")
                score -= Double(n)
            }
            if i / 27 % 2 == 1 {
                words += ["a", ["man", "woman"][i % 2], "who", "finds", "a", "city"]
                tags.append("plot")
            }
            let text = words.joined(separator: " ") + " \(i)"
            let label = regression ? "\(score)" : "[" + tags.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            lines.append(#"{"text": "\#(text)", "label": \#(label)}"#)
        }
        let path = fixture.directory.appendingPathComponent(regression ? "scores.jsonl" : "tags.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func configuration(_ name: String, regression: Bool, _ change: (inout TrainingConfiguration) -> Void = { _ in }) throws -> TrainingConfiguration {
        let data = try writeData(regression: regression)
        return try fixture.configuration(name) {
            $0.trainFile = data
            $0.maxSteps = 30
            $0.gradientAccumulationSteps = 1
            $0.saveStrategy = .no
            $0.evalSteps = 10
            $0.warmupRatio = 0
            $0.learningRate = 2e-3
            $0.maxLength = 24
            change(&$0)
        }
    }

    func config(_ output: URL) throws -> [String: Any] {
        try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("model/config.json"))) as? [String: Any])
    }

    func testMultiLabelRunLearnsAndExportsProblemType() throws {
        // problem_type is inferred from the JSON arrays.
        let c = try configuration("multi", regression: false) {
            $0.metricForBestModel = "f1_micro"
            $0.learningRate = 4e-3
        }
        let metrics = try TrainingRun(configuration: c).run()
        let output = fixture.output("multi")
        let (log, evaluations) = try logRecords(output)
        func mean(_ rows: ArraySlice<[Double]>) -> Double { rows.map { $0[1] }.reduce(0, +) / Double(rows.count) }
        XCTAssertLessThan(mean(log.suffix(5)), mean(log.prefix(5)), "the BCE loss falls: \(log.map { $0[1] })")
        XCTAssertLessThan(evaluations.last![1], evaluations.first![1], "eval_loss falls: \(evaluations.map { $0[1] })")
        for key in ["eval_f1_micro", "eval_f1_macro", "eval_subset_accuracy", "eval_hamming_loss", "eval_loss", "test_f1_pos"] {
            XCTAssertNotNil(metrics[key], key)
        }
        XCTAssertGreaterThan(metrics["eval_f1_micro"]!, 0.6)
        let exported = try config(output)
        XCTAssertEqual(exported["problem_type"] as? String, "multi_label_classification")
        XCTAssertEqual(exported["id2label"] as? [String: String], ["0": "neg", "1": "plot", "2": "pos"])
        let report = try String(contentsOf: output.appendingPathComponent("classification_report.txt"), encoding: .utf8)
        XCTAssertTrue(report.contains("micro avg") && report.contains("hamming loss"), report)
        let prediction = try String(contentsOf: output.appendingPathComponent("predictions.jsonl"), encoding: .utf8)
        XCTAssertTrue(prediction.contains("\"predicted\"") && prediction.contains("\"probabilities\""))
        // The exported model predicts as `fttrain predict` prints it: every label's probability and the chosen set.
        let directory = output.appendingPathComponent("model")
        XCTAssertEqual(ProblemType.of(modelDirectory: directory), .multiLabelClassification)
        let model = try ModelRegistry.load(modelDirectory: directory, numLabels: 3)
        let records = try MultiLabelPrediction.predict(
            texts: [("the movie was good great is bad", nil), ("the film", nil)], model: model,
            tokenizer: try BertTokenizer.load(modelDirectory: directory),
            labels: ["neg", "plot", "pos"], problemType: .multiLabelClassification, threshold: 0.5, maxLength: 24, batchSize: 2)
        XCTAssertEqual(records.count, 2)
        let first = try XCTUnwrap(records[0]["labels"] as? [[String: Any]])
        XCTAssertEqual(first.map { $0["label"] as? String }, ["neg", "plot", "pos"])
        let chosen = try XCTUnwrap(records[0]["predicted"] as? [String])
        XCTAssertEqual(chosen, first.filter { ($0["probability"] as! Double) >= 0.5 }.map { $0["label"] as! String })
    }

    func testRegressionRunLearnsAndExportsProblemType() throws {
        let c = try configuration("regression", regression: true) {
            $0.metricForBestModel = "rmse"
            $0.loadBestModelAtEnd = true
            $0.saveStrategy = .steps
            $0.saveSteps = 10
        }
        XCTAssertFalse(c.resolvedGreaterIsBetter, "rmse: lower is better")
        let metrics = try TrainingRun(configuration: c).run()
        let output = fixture.output("regression")
        let log = try logRecords(output).train
        XCTAssertLessThan(log.last![1], 0.5 * log.first![1], "the MSE falls")
        for key in ["eval_mse", "eval_rmse", "eval_mae", "eval_pearson", "eval_spearman", "test_mse"] { XCTAssertNotNil(metrics[key], key) }
        XCTAssertGreaterThan(metrics["eval_pearson"]!, 0.5)
        XCTAssertEqual(try config(output)["problem_type"] as? String, "regression")
        let directory = output.appendingPathComponent("model")
        let model = try ModelRegistry.load(modelDirectory: directory, numLabels: 1)
        let records = try MultiLabelPrediction.predict(
            texts: [("the movie was good great fine", nil), ("the film is bad awful dull", nil)], model: model,
            tokenizer: try BertTokenizer.load(modelDirectory: directory), labels: ["LABEL_0"], problemType: .regression, threshold: 0.5,
            maxLength: 24, batchSize: 2)
        let scores = records.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores.count, 2)
        XCTAssertGreaterThan(scores[0], scores[1], "three positive words score above three negative ones")
        XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent("regression_report.txt").path))
    }

    func testLoRATrainsTheMultiLabelHead() throws {
        let c = try configuration("lora", regression: false) {
            $0.problemType = .multiLabelClassification
            $0.peft = .lora
            $0.loraR = 2
            $0.learningRate = 5e-3
        }
        try TrainingRun(configuration: c).run()
        let output = fixture.output("lora")
        let log = try logRecords(output).train
        XCTAssertLessThan(log.last![1], log.first![1], "the loss falls under LoRA")
        XCTAssertEqual(try config(output)["problem_type"] as? String, "multi_label_classification")
        let adapter = try PEFTAdapter.read(directory: output.appendingPathComponent("adapter"))
        XCTAssertTrue(adapter.tensors.contains { $0.name == "classifier.weight" })
        for name in ["model", "adapter"] {
            let stored = try LabelThresholds.read(modelDirectory: output.appendingPathComponent(name), labels: ["neg", "plot", "pos"])
            XCTAssertEqual(stored, ["neg": 0.5, "plot": 0.5, "pos": 0.5], name)
        }
    }

    /// 2 ranks × batch 2 against 1 process × batch 4, for both problem types: losses, gradient
    /// norms and learning rates of every step agree within float32 summation order.
    func testTwoRanksTrainLikeOneProcess() throws {
        for regression in [false, true] {
            func settings(_ name: String, batch: Int) throws -> TrainingConfiguration {
                try configuration(name, regression: regression) {
                    $0.perDeviceTrainBatchSize = batch
                    $0.maxSteps = 8
                    $0.evalStrategy = .no
                    $0.hiddenDropoutProb = 0
                    $0.attentionProbsDropoutProb = 0
                    $0.classifierDropout = 0
                }
            }
            let one = "one-\(regression)", two = "two-\(regression)"
            try TrainingRun(configuration: try settings(one, batch: 4)).run()
            let twoRanks = try settings(two, batch: 2)
            _ = try InProcessWorlds.run(size: 2) { world in try TrainingRun(configuration: twoRanks, world: world).run() }
            let a = try logRecords(fixture.output(one)).train, b = try logRecords(fixture.output(two)).train
            XCTAssertEqual(a.count, 8)
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) {
                for k in 1...3 {
                    XCTAssertEqual(y[k], x[k], accuracy: 1e-5 * max(abs(x[k]), 1e-3), "regression \(regression) step \(x[0]) column \(k)")
                }
            }
        }
    }

    func testSettingsThatDoNotFitAreRefused() throws {
        let bad = try configuration("weights", regression: true) { $0.classWeights = .balanced }
        XCTAssertThrowsError(try TrainingRun(configuration: bad).run()) { XCTAssertTrue("\($0)".contains("class_weights"), "\($0)") }
        let threshold = try configuration("threshold", regression: false) { $0.threshold = 1.5 }
        XCTAssertThrowsError(try TrainingRun(configuration: threshold).run()) { XCTAssertTrue("\($0)".contains("threshold"), "\($0)") }
    }

    /// Three outputs per row (the score, the positive and the negative word counts) as a JSONL
    /// list: the problem type is inferred, the MSE falls, the metrics are per output and averaged,
    /// and the exported model predicts the vector.
    func testRegressionWithThreeOutputs() throws {
        let rows = try String(contentsOfFile: try writeData(regression: true), encoding: .utf8).split(separator: "\n").map { line -> String in
            let object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let text = object["text"] as! String, score = (object["label"] as! NSNumber).doubleValue
            let positive = ["good", "great", "fine"].filter { text.contains($0) }.count
            let negative = ["bad", "awful", "dull"].filter { text.contains($0) }.count
            return #"{"text": "\#(text)", "label": [\#(score), \#(positive).0, \#(negative).0]}"#
        }
        let path = fixture.directory.appendingPathComponent("three.jsonl").path
        try (rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let c = try configuration("three", regression: true) {
            $0.trainFile = path
            $0.metricForBestModel = "rmse"
        }
        let metrics = try TrainingRun(configuration: c).run()
        let output = fixture.output("three")
        let log = try logRecords(output).train
        XCTAssertLessThan(log.last![1], 0.5 * log.first![1], "the MSE falls: \(log.map { $0[1] })")
        for key in ["eval_mse", "eval_rmse", "eval_r2", "eval_pearson", "eval_mse_LABEL_0", "eval_pearson_LABEL_2", "test_mae_LABEL_1"] {
            XCTAssertNotNil(metrics[key], key)
        }
        let perOutput = (0..<3).map { metrics["eval_mse_LABEL_\($0)"]! }
        XCTAssertEqual(metrics["eval_mse"]!, perOutput.reduce(0, +) / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics["eval_loss"]!, metrics["eval_mse"]!, accuracy: 1e-4 * metrics["eval_mse"]!, "the loss is the MSE over all entries")
        let exported = try config(output)
        XCTAssertEqual(exported["problem_type"] as? String, "regression")
        XCTAssertEqual(exported["id2label"] as? [String: String], ["0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"])
        let report = try String(contentsOf: output.appendingPathComponent("regression_report.txt"), encoding: .utf8)
        XCTAssertTrue(report.contains("average") && report.contains("LABEL_2"), report)
        let directory = output.appendingPathComponent("model")
        let model = try ModelRegistry.load(modelDirectory: directory, numLabels: 3)
        let records = try MultiLabelPrediction.predict(
            texts: [("the movie was good great fine", nil), ("the film is bad awful dull", nil)], model: model,
            tokenizer: try BertTokenizer.load(modelDirectory: directory), labels: ["LABEL_0", "LABEL_1", "LABEL_2"], problemType: .regression,
            maxLength: 24, batchSize: 2)
        let scores = try records.map { try XCTUnwrap($0["scores"] as? [Double]) }
        XCTAssertEqual(records[0]["outputs"] as? [String], ["LABEL_0", "LABEL_1", "LABEL_2"])
        XCTAssertEqual(scores.map(\.count), [3, 3])
        XCTAssertGreaterThan(scores[0][0], scores[1][0], "positive words score above negative ones")
        XCTAssertGreaterThan(scores[0][1], scores[1][1], "more positive words counted")
        XCTAssertLessThan(scores[0][2], scores[1][2], "fewer negative words counted")
    }

    /// `tune_thresholds`: each label's threshold picked on the validation split, so no label's
    /// validation F1 is below its F1 at 0.5 (the last evaluation of the same weights); the
    /// thresholds reach `thresholds.json`, which `predict` reads; a map in `thresholds` naming an
    /// unknown label stops the run.
    func testTunedThresholdsReachTheModel() throws {
        let c = try configuration("tuned", regression: false) {
            $0.learningRate = 4e-3
            $0.tuneThresholds = true
            $0.thresholds = .byLabel(["plot": 0.4])
        }
        let metrics = try TrainingRun(configuration: c).run()
        let output = fixture.output("tuned")
        let lastEvaluation = try XCTUnwrap(logRecords(output).eval.last)
        XCTAssertEqual(lastEvaluation[0], 30, "the last evaluation is of the final weights")
        XCTAssertGreaterThanOrEqual(metrics["eval_f1_macro"]!, lastEvaluation[3] - 1e-12)
        let directory = output.appendingPathComponent("model")
        let labels = ["neg", "plot", "pos"]
        let stored = try XCTUnwrap(try LabelThresholds.read(modelDirectory: directory, labels: labels))
        XCTAssertEqual(Set(stored.keys), Set(labels))
        XCTAssertTrue(stored.values.allSatisfy { $0 > 0 && $0 < 1 }, "\(stored)")
        XCTAssertEqual(
            try LabelThresholds.forPrediction(modelDirectory: directory, labels: labels, threshold: nil, overrides: nil),
            labels.map { stored[$0]! })
        let report = try String(contentsOf: output.appendingPathComponent("classification_report.txt"), encoding: .utf8)
        if Set(stored.values).count > 1 { XCTAssertTrue(report.contains("threshold per label"), report) }

        let unknown = try configuration("unknown", regression: false) { $0.thresholds = .byLabel(["fear": 0.4]) }
        XCTAssertThrowsError(try TrainingRun(configuration: unknown).run()) { XCTAssertTrue("\($0)".contains("\"fear\""), "\($0)") }
        let regression = try configuration("regression-thresholds", regression: true) { $0.tuneThresholds = true }
        XCTAssertThrowsError(try TrainingRun(configuration: regression).run()) { XCTAssertTrue("\($0)".contains("tune_thresholds"), "\($0)") }
        let columns = try configuration("columns", regression: false) {
            $0.labelColumns = ["label"]
            $0.problemType = .multiLabelClassification
        }
        XCTAssertThrowsError(try TrainingRun(configuration: columns).run()) { XCTAssertTrue("\($0)".contains("label_columns"), "\($0)") }
    }
}
