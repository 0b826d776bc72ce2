import Foundation
import XCTest
@testable import FTTrain

final class ConfigValidationTests: XCTestCase {
    /// A valid configuration: the defaults plus the three required settings.
    var valid: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.outputDir = "out"
        c.modelDir = "model"
        c.trainFile = "train.csv"
        return c
    }

    /// Applies `change` to a valid configuration and asserts that validation rejects it, naming
    /// `key` in a problem whose message contains every string in `contains`.
    func assertRejected(
        _ key: String, _ contains: [String], maxPositionEmbeddings: Int = 512,
        file: StaticString = #filePath, line: UInt = #line,
        _ change: (inout TrainingConfiguration) -> Void
    ) {
        var c = valid
        change(&c)
        guard let error = configurationError(file: file, line: line, { try c.validate(maxPositionEmbeddings: maxPositionEmbeddings) }) else { return }
        guard let problem = error.problems.first(where: { $0.key == key }) else {
            return XCTFail("no problem names `\(key)`: \(error)", file: file, line: line)
        }
        for text in contains {
            XCTAssertTrue(problem.message.contains(text), "«\(problem.message)» lacks «\(text)»", file: file, line: line)
        }
        XCTAssertTrue(error.description.hasPrefix("invalid configuration: "), error.description, file: file, line: line)
    }

    func testValidConfigurationsPass() throws {
        XCTAssertNoThrow(try valid.validate())
        var c = valid
        c.maxLength = 2
        c.numTrainEpochs = 0
        c.maxSteps = 10
        c.maxGradNorm = 0
        c.evalStrategy = .epoch
        c.saveStrategy = .epoch
        c.loadBestModelAtEnd = true
        c.splitRatios = [0.9, 0.1, 0]
        XCTAssertNoThrow(try c.validate())
        c.saveStrategy = .best
        XCTAssertNoThrow(try c.validate(), "save_strategy best need not match eval_strategy, as in HF")
    }

    func testResumeAndEarlyStoppingSettings() throws {
        assertRejected("early_stopping_patience", ["needs evaluations", "eval_strategy"]) { $0.earlyStoppingPatience = 3 }
        assertRejected("early_stopping_patience", ["must be >= 1", "found 0"]) {
            $0.earlyStoppingPatience = 0
            $0.evalStrategy = .epoch
        }
        assertRejected("early_stopping_threshold", ["must be >= 0, found -0.1"]) { $0.earlyStoppingThreshold = -0.1 }
        assertRejected("resume_from_checkpoint", ["latest or a checkpoint directory"]) { $0.resumeFromCheckpoint = "" }
        var c = valid
        c.evalStrategy = .steps
        c.earlyStoppingPatience = 2
        c.earlyStoppingThreshold = 0.01
        c.resumeFromCheckpoint = "latest"
        XCTAssertNoThrow(try c.validate())
        var flags = valid
        try flags.applyOverrides(["--resume-from-checkpoint", "out/checkpoint-40", "--early-stopping-patience", "4"])
        XCTAssertEqual(flags.resumeFromCheckpoint, "out/checkpoint-40")
        XCTAssertEqual(flags.earlyStoppingPatience, 4)
    }

    func testMissingRequiredSettingsNameTheFlag() {
        let error = configurationError { try TrainingConfiguration().validate() }
        XCTAssertEqual(error?.keys, ["output_dir", "model_dir", "train_file"])
        XCTAssertTrue(error?.problems.allSatisfy { $0.kind == .missingSetting } ?? false)
        XCTAssertTrue(
            error?.description.contains("`output_dir` is required: set it in the configuration file or pass `--output-dir`") ?? false,
            "\(String(describing: error))")
        XCTAssertTrue(error?.description.contains("3 problems") ?? false)
        assertRejected("model_dir", ["required", "--model-dir"]) { $0.modelDir = "" }
    }

    func testBatchSizesAccumulationAndLearningRate() {
        assertRejected("per_device_train_batch_size", ["`per_device_train_batch_size` must be >= 1, found 0"]) { $0.perDeviceTrainBatchSize = 0 }
        assertRejected("per_device_eval_batch_size", ["must be >= 1, found -8"]) { $0.perDeviceEvalBatchSize = -8 }
        assertRejected("gradient_accumulation_steps", ["must be >= 1, found 0"]) { $0.gradientAccumulationSteps = 0 }
        assertRejected("learning_rate", ["`learning_rate` must be > 0, found 0.0"]) { $0.learningRate = 0 }
        assertRejected("learning_rate", ["found -1e-05"]) { $0.learningRate = -1e-5 }
        assertRejected("learning_rate", ["found nan"]) { $0.learningRate = .nan }
    }

    func testAllReduceAlgorithmSettings() throws {
        assertRejected("ddp_allreduce_algorithm", ["`ddp_allreduce_algorithm` halving_doubling cannot send bfloat16", "use auto or ring"]) {
            $0.ddpBF16Compression = true
            $0.ddpAllreduceAlgorithm = .halvingDoubling
        }
        var c = valid
        c.ddpBF16Compression = true
        c.ddpAllreduceAlgorithm = .ring
        XCTAssertNoThrow(try c.validate())
        // A value outside the set is named with the choices, from a file as from a flag.
        guard let error = configurationError({ _ = try TrainingConfiguration.decode(json: Data(#"{"ddp_allreduce_algorithm": "tree"}"#.utf8)) })
        else { return }
        XCTAssertTrue(
            error.description.contains(
                "`ddp_allreduce_algorithm` must be one of `auto`, `ring`, `halving_doubling`, `hierarchical`, `mpi`, found `tree`"),
            error.description)
    }

    func testOptimizerValues() {
        assertRejected("weight_decay", ["`weight_decay` must be >= 0, found -0.01"]) { $0.weightDecay = -0.01 }
        assertRejected("adam_beta1", ["`adam_beta1` must be in [0, 1), found 1.0"]) { $0.adamBeta1 = 1 }
        assertRejected("adam_beta2", ["`adam_beta2` must be in [0, 1), found -0.1"]) { $0.adamBeta2 = -0.1 }
        assertRejected("adam_epsilon", ["must be >= 0, found -1e-08"]) { $0.adamEpsilon = -1e-8 }
        assertRejected("max_grad_norm", ["`max_grad_norm` must be >= 0", "found -1.0"]) { $0.maxGradNorm = -1 }
    }

    func testScheduleValues() {
        assertRejected("warmup_ratio", ["`warmup_ratio` must be in [0, 1), found 1.0"]) { $0.warmupRatio = 1 }
        assertRejected("warmup_ratio", ["found -0.1"]) { $0.warmupRatio = -0.1 }
        assertRejected("warmup_steps", ["`warmup_steps` must be >= 0, found -5"]) { $0.warmupSteps = -5 }
        assertRejected("warmup_ratio", ["`warmup_ratio` 0.1 has no effect with `lr_scheduler_type` constant", "constant_with_warmup"]) {
            $0.lrSchedulerType = .constant
            $0.warmupRatio = 0.1
        }
        assertRejected("num_train_epochs", ["`num_train_epochs` must be > 0 when `max_steps` is not set", "found 0.0"]) { $0.numTrainEpochs = 0 }
        assertRejected("num_train_epochs", ["found -1.0"]) {
            $0.numTrainEpochs = -1
            $0.maxSteps = 0
        }
    }

    func testEvaluationAndSavingCombinations() {
        assertRejected(
            "eval_strategy", ["`eval_strategy` steps needs a positive `eval_steps` or `logging_steps`", "eval_steps null and logging_steps 0"]
        ) {
            $0.evalStrategy = .steps
            $0.loggingSteps = 0
        }
        assertRejected("eval_steps", ["`eval_steps` must be >= 0", "found -10"]) { $0.evalSteps = -10 }
        assertRejected("logging_steps", ["`logging_steps` must be >= 0", "found -1"]) { $0.loggingSteps = -1 }
        assertRejected("save_steps", ["`save_steps` must be >= 1 with `save_strategy` steps, found 0"]) { $0.saveSteps = 0 }
        assertRejected("save_total_limit", ["`save_total_limit` must be >= 1", "found 0"]) { $0.saveTotalLimit = 0 }
        assertRejected("load_best_model_at_end", ["needs evaluations", "`eval_strategy` is no"]) { $0.loadBestModelAtEnd = true }
        assertRejected("load_best_model_at_end", ["`save_strategy` (steps) to match `eval_strategy` (epoch)"]) {
            $0.loadBestModelAtEnd = true
            $0.evalStrategy = .epoch
        }
        assertRejected("save_steps", ["`save_steps` (500) to be a multiple of the evaluation steps (300)"]) {
            $0.loadBestModelAtEnd = true
            $0.evalStrategy = .steps
            $0.evalSteps = 300
        }
        assertRejected("save_strategy", ["`save_strategy` best needs evaluations", "`eval_strategy` is no"]) { $0.saveStrategy = .best }
        assertRejected("metric_for_best_model", ["found "]) { $0.metricForBestModel = "" }
    }

    func testMaxLengthAgainstBERTAndTheModel() {
        assertRejected("max_length", ["`max_length` must be in [2, 512]", "found 1"]) { $0.maxLength = 1 }
        assertRejected("max_length", ["found 513"]) { $0.maxLength = 513 }
        assertRejected("max_length", ["in [2, 256]", "found 300"], maxPositionEmbeddings: 256) { $0.maxLength = 300 }
        var c = valid
        c.maxLength = 512
        XCTAssertNoThrow(try c.validate())
    }

    func testSplitRatios() {
        let requirement = "three fractions (train, validation, test), each >= 0, train > 0, summing to 1"
        assertRejected("split_ratios", [requirement, "found [0.8, 0.1]"]) { $0.splitRatios = [0.8, 0.1] }
        assertRejected("split_ratios", ["found [0.8, 0.3, 0.1]"]) { $0.splitRatios = [0.8, 0.3, 0.1] }
        assertRejected("split_ratios", ["found [1.1, -0.1, 0.0]"]) { $0.splitRatios = [1.1, -0.1, 0] }
        assertRejected("split_ratios", ["found [0.0, 0.5, 0.5]"]) { $0.splitRatios = [0, 0.5, 0.5] }
        assertRejected("split_ratios", ["needs validation examples", "[0.9, 0.0, 0.1]"]) {
            $0.splitRatios = [0.9, 0, 0.1]
            $0.evalStrategy = .epoch
        }
        var c = valid
        c.splitRatios = [0.7, 0.2, 0.1]  // 0.7 + 0.2 + 0.1 is 0.9999999999999999 in binary
        XCTAssertNoThrow(try c.validate())
    }

    func testDataSettings() {
        assertRejected("validation_file", ["needs `validation_file`"]) {
            $0.testFile = "test.csv"
            $0.evalStrategy = .epoch
        }
        assertRejected("label_column", ["`label_column` and `text_column` are both `text`"]) { $0.labelColumn = "text" }
        assertRejected("text_column", ["`text_column` must be a column name"]) { $0.textColumn = "" }
        assertRejected("text_pair_column", ["found `label`"]) { $0.textPairColumn = "label" }
        assertRejected("data_format", ["`train_file` train.txt", "set `data_format` to one of csv, tsv, jsonl"]) { $0.trainFile = "train.txt" }
        var c = valid
        c.trainFile = "train.txt"
        c.dataFormat = .tsv
        XCTAssertNoThrow(try c.validate())
        XCTAssertEqual(c.resolvedDataFormat(forFile: "train.txt"), .tsv)
    }

    func testClassWeightValues() {
        assertRejected("class_weights", ["`class_weights` must be weights > 0, found [1.0, -2.0]"]) { $0.classWeights = .list([1, -2]) }
        assertRejected("class_weights", ["found []"]) { $0.classWeights = .list([]) }
        assertRejected("class_weights", ["found {a: 0.0, b: 2.0}"]) { $0.classWeights = .byLabel(["a": 0, "b": 2]) }
        assertRejected("class_weights", ["found [1.0, inf]"]) { $0.classWeights = .list([1, .infinity]) }
        var c = valid
        c.classWeights = .balanced
        XCTAssertNoThrow(try c.validate())
        c.classWeights = .byLabel(["a": 0.5, "b": 2])
        XCTAssertNoThrow(try c.validate())
    }

    func testDropoutProbabilities() {
        assertRejected("hidden_dropout_prob", ["`hidden_dropout_prob` must be a probability in [0, 1), found 1.0"]) { $0.hiddenDropoutProb = 1 }
        assertRejected("attention_probs_dropout_prob", ["found -0.1"]) { $0.attentionProbsDropoutProb = -0.1 }
        assertRejected("classifier_dropout", ["found 1.5"]) { $0.classifierDropout = 1.5 }
        var c = valid
        c.hiddenDropoutProb = 0
        c.classifierDropout = 0.5
        XCTAssertNoThrow(try c.validate())
    }

    func testAllProblemsAreReportedTogether() {
        var c = valid
        c.learningRate = 0
        c.perDeviceTrainBatchSize = 0
        c.hiddenDropoutProb = 2
        let error = configurationError { try c.validate() }
        XCTAssertEqual(error?.keys, ["per_device_train_batch_size", "learning_rate", "hidden_dropout_prob"])
        XCTAssertEqual(c.validationProblems().count, 3)
    }

    func testResolveValidatesAfterOverrides() throws {
        let path = try configFixture("unknown_keys", "yaml")
        XCTAssertNotNil(configurationError { _ = try TrainingConfiguration.resolve(configFile: path, overrides: []) })
        // Required settings may come from flags alone.
        let c = try TrainingConfiguration.resolve(
            configFile: nil,
            overrides: [
                "--output-dir", "o", "--model-dir", "m", "--train-file", "t.jsonl",
            ])
        XCTAssertEqual(c.trainFile, "t.jsonl")
        let missing = configurationError { _ = try TrainingConfiguration.resolve(configFile: nil, overrides: ["--output-dir", "o"]) }
        XCTAssertEqual(missing?.keys, ["model_dir", "train_file"])
        let minimal = try configFixture("minimal", "yaml")
        let tooLong = configurationError {
            _ = try TrainingConfiguration.resolve(configFile: minimal, overrides: ["--max-length", "300"], maxPositionEmbeddings: 256)
        }
        XCTAssertEqual(tooLong?.keys, ["max_length"])
    }
}
