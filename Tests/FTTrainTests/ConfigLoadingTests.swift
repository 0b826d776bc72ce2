import Foundation
import TestSupport
import XCTest
@testable import FTTrain

/// Path of a file in Fixtures/config.
func configFixture(_ name: String, _ ext: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let url = try XCTUnwrap(
        Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures/config"),
        "missing fixture \(name).\(ext)", file: file, line: line)
    return url.path
}

/// Runs `body`, which must throw a `ConfigurationError`, and returns it.
func configurationError(
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
) -> ConfigurationError? {
    do {
        try body()
        XCTFail("expected a ConfigurationError", file: file, line: line)
    } catch let error as ConfigurationError {
        return error
    } catch {
        XCTFail("expected a ConfigurationError, got \(error)", file: file, line: line)
    }
    return nil
}

final class ConfigLoadingTests: XCTestCase {
    /// The values of Fixtures/config/full.{yaml,json}: every key away from its default.
    static var full: TrainingConfiguration {
        var c = TrainingConfiguration()
        c.outputDir = "out/run1"
        c.modelDir = "models/mini"
        c.seed = 7
        c.numTrainEpochs = 2.5
        c.maxSteps = 1000
        c.perDeviceTrainBatchSize = 16
        c.perDeviceEvalBatchSize = 64
        c.gradientAccumulationSteps = 4
        c.learningRate = 3e-5
        c.weightDecay = 0.01
        c.adamBeta1 = 0.85
        c.adamBeta2 = 0.98
        c.adamEpsilon = 1e-6
        c.maxGradNorm = 0.5
        c.lrSchedulerType = .cosine
        c.warmupRatio = 0.06
        c.warmupSteps = 10
        c.evalStrategy = .steps
        c.evalSteps = 50
        c.loggingSteps = 10
        c.reportTo = .tensorboard
        c.trace = true
        c.traceFile = "out/trace.json"
        c.saveStrategy = .best
        c.saveSteps = 100
        c.saveTotalLimit = 3
        c.resumeFromCheckpoint = "out/run1/checkpoint-500"
        c.loadBestModelAtEnd = true
        c.metricForBestModel = "f1_macro"
        c.greaterIsBetter = true
        c.earlyStoppingPatience = 3
        c.earlyStoppingThreshold = 0.001
        c.dataloaderDropLast = true
        c.maxLength = 96
        c.groupByLength = true
        c.ddpTimeout = 600
        c.ddpBF16Compression = true
        c.ddpAllreduceAlgorithm = .ring
        c.ddpCostModel = "cluster/cost.json"
        c.bf16 = true
        c.saveDtype = .bfloat16
        c.ddpOverlapAllreduce = false
        c.ddpBucketCapMB = 4.5
        c.ddpParameterCheckSteps = 10
        c.ddpSparseEmbeddings = false
        c.trainFile = "data/train.csv"
        c.validationFile = "data/dev.tsv"
        c.testFile = "data/test.jsonl"
        c.splitRatios = [0.7, 0.2, 0.1]
        c.textColumn = "review"
        c.textPairColumn = "title"
        c.labelColumn = "category"
        c.dataFormat = .csv
        c.stripHTML = true
        c.collapseWhitespace = false
        c.dropSymbols = true
        c.deduplicate = false
        c.skipBadRows = true
        c.classWeights = .byLabel(["fresh": 1.0, "rotten": 1.5, "plot": 3])
        c.oversample = true
        c.augment = AugmentSettings()
        c.augment?.copies = 2
        c.augment?.synonyms = "syn.txt"
        c.augment?.seed = 7
        c.task = .causalLM
        c.promptTemplate = "Review: {text}\nVerdict:"
        c.completionTemplate = " {label}"
        c.chatTemplate = true
        c.completionOnlyLoss = false
        c.assistantOnlyLoss = false
        c.packing = true
        c.predictWithGenerate = true
        c.generationMaxNewTokens = 8
        c.problemType = .multiLabelClassification
        c.labelSeparator = "|"
        c.threshold = 0.4
        c.thresholds = .byLabel(["joy": 0.3])
        c.tuneThresholds = true
        c.labelColumns = ["valence", "arousal"]
        c.tagScheme = .bioes
        c.labelAllTokens = true
        c.addTokens = .tokens(["新词", "北京大学"])
        c.docStride = 64
        c.nBestSize = 10
        c.maxAnswerLength = 15
        c.versionTwoWithNegative = true
        c.nullScoreDiffThreshold = 0.5
        c.hiddenDropoutProb = 0.2
        c.attentionProbsDropoutProb = 0.15
        c.classifierDropout = 0.3
        c.peft = .lora
        c.loraR = 16
        c.loraAlpha = 32
        c.loraDropout = 0.05
        c.loraTargetModules = ["query", "key", "value"]
        c.loraBias = .loraOnly
        c.modulesToSave = ["classifier", "pooler.dense"]
        c.useRSLoRA = true
        c.freezeEmbeddings = true
        c.freezeLayers = "0-1"
        c.adapterReductionFactor = 8
        return c
    }

    func testDefaultsAreHuggingFaces() {
        let c = TrainingConfiguration()
        // Hugging Face TrainingArguments defaults.
        XCTAssertEqual(c.seed, 42)
        XCTAssertEqual(c.numTrainEpochs, 3.0)
        XCTAssertEqual(c.maxSteps, -1)
        XCTAssertEqual(c.perDeviceTrainBatchSize, 8)
        XCTAssertEqual(c.perDeviceEvalBatchSize, 8)
        XCTAssertEqual(c.gradientAccumulationSteps, 1)
        XCTAssertEqual(c.learningRate, 5e-5)
        XCTAssertEqual(c.weightDecay, 0.0)
        XCTAssertEqual(c.adamBeta1, 0.9)
        XCTAssertEqual(c.adamBeta2, 0.999)
        XCTAssertEqual(c.adamEpsilon, 1e-8)
        XCTAssertEqual(c.maxGradNorm, 1.0)
        XCTAssertEqual(c.lrSchedulerType, .linear)
        XCTAssertEqual(c.warmupRatio, 0.0)
        XCTAssertEqual(c.warmupSteps, 0)
        XCTAssertEqual(c.evalStrategy, .no)
        XCTAssertNil(c.evalSteps)
        XCTAssertEqual(c.loggingSteps, 500)
        XCTAssertEqual(c.saveStrategy, .steps)
        XCTAssertEqual(c.saveSteps, 500)
        XCTAssertNil(c.saveTotalLimit)
        XCTAssertFalse(c.loadBestModelAtEnd)
        XCTAssertNil(c.metricForBestModel)
        XCTAssertNil(c.greaterIsBetter)
        XCTAssertFalse(c.dataloaderDropLast)
        XCTAssertFalse(c.groupByLength)
        // HF's derivations of unset values.
        XCTAssertEqual(c.resolvedEvalSteps, 500)
        XCTAssertEqual(c.resolvedMetricForBestModel, "loss")
        XCTAssertFalse(c.resolvedGreaterIsBetter)
        // fttrain's own.
        XCTAssertEqual(c.maxLength, 128)
        XCTAssertNil(c.outputDir)
        XCTAssertNil(c.modelDir)
        XCTAssertNil(c.trainFile)
        XCTAssertNil(c.validationFile)
        XCTAssertNil(c.testFile)
        XCTAssertEqual(c.splitRatios, [0.8, 0.1, 0.1])
        XCTAssertEqual(c.textColumn, "text")
        XCTAssertNil(c.textPairColumn)
        XCTAssertEqual(c.labelColumn, "label")
        XCTAssertNil(c.dataFormat)
        XCTAssertFalse(c.stripHTML)
        XCTAssertTrue(c.collapseWhitespace)
        XCTAssertFalse(c.dropSymbols)
        XCTAssertTrue(c.deduplicate)
        XCTAssertFalse(c.skipBadRows)
        XCTAssertNil(c.classWeights)
        XCTAssertFalse(c.oversample)
        XCTAssertNil(c.hiddenDropoutProb)
        XCTAssertNil(c.attentionProbsDropoutProb)
        XCTAssertNil(c.classifierDropout)
    }

    func testEveryPropertyHasExactlyOneKey() {
        let names = ConfigurationKey.all.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "duplicate key names")
        XCTAssertEqual(
            names.count, Mirror(reflecting: TrainingConfiguration()).children.count,
            "ConfigurationKey.all must list every stored property")
        for key in ConfigurationKey.all {
            XCTAssertFalse(key.help.isEmpty, key.name)
            XCTAssertFalse(key.help.contains("\n"), "\(key.name): help must be one line")
            XCTAssertTrue(key.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, key.name)
        }
    }

    func testEachKeyReadsAndWritesItsOwnProperty() throws {
        // A file holding one key of `full` changes exactly that setting of the defaults, to full's value.
        let full = Self.full
        let defaults = TrainingConfiguration()
        let fullObject = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(full)) as? [String: Any])
        for key in ConfigurationKey.all {
            let single = try JSONSerialization.data(withJSONObject: [key.name: try XCTUnwrap(fullObject[key.name])])
            let c = try TrainingConfiguration.decode(json: single)
            XCTAssertEqual(key.display(c), key.display(full), key.name)
            XCTAssertNotEqual(key.display(c), key.display(defaults), "\(key.name): full must differ from the default")
            for other in ConfigurationKey.all where other.name != key.name {
                XCTAssertEqual(other.display(c), other.display(defaults), "\(key.name) also changed \(other.name)")
            }
        }
    }

    func testLoadsFullYAML() throws {
        let c = try TrainingConfiguration.load(path: configFixture("full", "yaml"))
        XCTAssertEqual(c, Self.full)
        XCTAssertNoThrow(try c.validate())
    }

    func testLoadsFullJSON() throws {
        let c = try TrainingConfiguration.load(path: configFixture("full", "json"))
        XCTAssertEqual(c, Self.full)
        XCTAssertEqual(c.learningRate, 3e-5, "JSON numbers are exact")
    }

    func testLoadsMinimalFilesWithDefaultsForTheRest() throws {
        var expected = TrainingConfiguration()
        expected.outputDir = "out"
        expected.modelDir = "models/mini"
        expected.trainFile = "data/train.csv"
        XCTAssertEqual(try TrainingConfiguration.load(path: configFixture("minimal", "yaml")), expected)
        XCTAssertEqual(try TrainingConfiguration.load(path: configFixture("minimal", "json")), expected)
        XCTAssertNoThrow(try expected.validate())
        XCTAssertTrue(expected.splitsTrainFile)
        XCTAssertEqual(expected.resolvedDataFormat(forFile: "data/train.csv"), .csv)
    }

    func testEmptyYAMLGivesDefaultsAndAnyOtherExtensionIsYAML() throws {
        XCTAssertEqual(try TrainingConfiguration.load(path: configFixture("empty", "yaml")), TrainingConfiguration())
        XCTAssertEqual(try TrainingConfiguration.load(path: configFixture("config", "txt")).learningRate, 1e-4)
    }

    func testYAMLCoreForms() throws {
        // `no` is a YAML 1.1 boolean, but eval_strategy reads it as the string HF uses.
        let c = try TrainingConfiguration.decode(
            yaml: """
                eval_strategy: no
                save_strategy: "no"
                learning_rate: 2e-5
                num_train_epochs: 2
                deduplicate: no
                eval_steps: null
                text_pair_column: ~
                """)
        XCTAssertEqual(c.evalStrategy, .no)
        XCTAssertEqual(c.saveStrategy, .no)
        XCTAssertEqual(c.learningRate, 2e-5)
        XCTAssertEqual(c.numTrainEpochs, 2)
        XCTAssertFalse(c.deduplicate)
        XCTAssertNil(c.evalSteps)
        XCTAssertNil(c.textPairColumn)
    }

    func testUnknownKeysAreAllNamedWithTheFileAndASuggestion() throws {
        let path = try configFixture("unknown_keys", "yaml")
        guard let error = configurationError({ _ = try TrainingConfiguration.load(path: path) }) else { return }
        XCTAssertEqual(error.source, path)
        XCTAssertEqual(error.keys, ["colour", "evaluation_strategy", "fp16", "learning_rat"])
        XCTAssertTrue(error.problems.allSatisfy { $0.kind == .unknownKey })
        let text = error.description
        XCTAssertTrue(text.hasPrefix(path + ": 4 problems"), text)
        XCTAssertTrue(text.contains("unknown key `learning_rat`; did you mean `learning_rate`?"), text)
        XCTAssertTrue(text.contains("unknown key `evaluation_strategy`; did you mean `eval_strategy`?"), text)
        XCTAssertTrue(text.contains("unknown key `fp16`: float16 mixed precision is a GPU setting; on CPU use `bf16: true`"), text)
        XCTAssertTrue(text.contains("unknown key `colour`: fttrain has no such setting"), text)
        XCTAssertEqual(error.problems.first { $0.key == "learning_rat" }?.suggestion, "learning_rate")
        XCTAssertNil(error.problems.first { $0.key == "colour" }?.suggestion)
    }

    func testUnknownKeySuggestionsByEditDistance() {
        let known = ConfigurationKey.all.map(\.name)
        XCTAssertEqual(KeySuggestion.suggestion(for: "lerning_rate", among: known), "learning_rate")
        XCTAssertEqual(KeySuggestion.suggestion(for: "learning-rate", among: known), "learning_rate")
        XCTAssertEqual(KeySuggestion.suggestion(for: "warmup_ration", among: known), "warmup_ratio")
        XCTAssertEqual(KeySuggestion.suggestion(for: "num_train_epoch", among: known), "num_train_epochs")
        XCTAssertEqual(KeySuggestion.suggestion(for: "max_seq_length", among: known), "max_length")
        XCTAssertNil(KeySuggestion.suggestion(for: "colour", among: known))
        XCTAssertEqual(KeySuggestion.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(KeySuggestion.editDistance("", "abc"), 3)
        XCTAssertEqual(KeySuggestion.editDistance("same", "same"), 0)
    }

    func testYAMLTypeErrorsNameKeyExpectedTypeAndValue() throws {
        let path = try configFixture("wrong_types", "yaml")
        guard let error = configurationError({ _ = try TrainingConfiguration.load(path: path) }) else { return }
        XCTAssertEqual(error.source, path)
        XCTAssertTrue(error.problems.allSatisfy { $0.kind == .wrongType })
        XCTAssertEqual(
            Set(error.keys),
            [
                "learning_rate", "per_device_train_batch_size", "lr_scheduler_type",
                "eval_steps", "group_by_length", "split_ratios", "seed",
            ])
        let text = error.description
        XCTAssertTrue(text.contains("`learning_rate` must be a number, found `fast`"), text)
        XCTAssertTrue(text.contains("`per_device_train_batch_size` must be an integer, found `2.5`"), text)
        XCTAssertTrue(text.contains("`lr_scheduler_type` must be one of `linear`, `cosine`, `constant`, `constant_with_warmup`, found `cosin`"), text)
        XCTAssertTrue(text.contains("`eval_steps` must be an integer or null, found a list"), text)
        XCTAssertTrue(text.contains("`group_by_length` must be true or false, found `maybe`"), text)
        XCTAssertTrue(text.contains("`split_ratios` must be a list of numbers, found `0.8`"), text)
        XCTAssertTrue(text.contains("`seed` must be an integer, found null"), text)
    }

    func testJSONTypeErrorsNameKeyAndExpectedType() throws {
        let path = try configFixture("wrong_types", "json")
        guard let error = configurationError({ _ = try TrainingConfiguration.load(path: path) }) else { return }
        XCTAssertEqual(error.source, path)
        XCTAssertEqual(Set(error.keys), ["learning_rate", "per_device_train_batch_size", "deduplicate", "text_column"])
        let text = error.description
        XCTAssertTrue(text.contains("`learning_rate` must be a number, found `fast`"), text)
        XCTAssertTrue(text.contains("`per_device_train_batch_size` must be an integer, found `2.5`"), text)
        XCTAssertTrue(text.contains("`deduplicate` must be true or false, found `yes`"), text)
        XCTAssertTrue(text.contains("`text_column` must be a string, found `3.0`"), text)
    }

    func testMalformedFiles() throws {
        let missing = "/nonexistent/fttrain.yaml"
        let notFound = configurationError { _ = try TrainingConfiguration.load(path: missing) }
        XCTAssertEqual(notFound?.description, "\(missing): file not found")

        let notJSON = try configFixture("not_json", "json")
        let jsonError = configurationError { _ = try TrainingConfiguration.load(path: notJSON) }
        XCTAssertEqual(jsonError?.problems.first?.kind, .malformed)
        XCTAssertEqual(jsonError?.description, "\(notJSON): not valid JSON: Invalid value around character 23 (line 1, column 24)")

        let duplicates = try configFixture("duplicate_keys", "yaml")
        let duplicateError = configurationError { _ = try TrainingConfiguration.load(path: duplicates) }
        XCTAssertTrue(duplicateError?.description.contains("not valid YAML") ?? false, "\(String(describing: duplicateError))")
        XCTAssertTrue(duplicateError?.description.contains("learning_rate") ?? false, "\(String(describing: duplicateError))")

        let list = try configFixture("list_at_top", "yaml")
        let listError = configurationError { _ = try TrainingConfiguration.load(path: list) }
        XCTAssertEqual(listError?.description, "\(list): expected a mapping of setting names to values at the top level")

        let syntax = configurationError { _ = try TrainingConfiguration.decode(yaml: "learning_rate: [1, 2", source: "inline.yaml") }
        XCTAssertTrue(syntax?.description.hasPrefix("inline.yaml: not valid YAML") ?? false, "\(String(describing: syntax))")
    }

    func testClassWeightForms() throws {
        XCTAssertNil(try TrainingConfiguration.decode(yaml: "class_weights: null").classWeights)
        XCTAssertEqual(try TrainingConfiguration.decode(yaml: "class_weights: balanced").classWeights, .balanced)
        XCTAssertEqual(try TrainingConfiguration.decode(yaml: "class_weights: [1, 2.5, 1]").classWeights, .list([1, 2.5, 1]))
        XCTAssertEqual(
            try TrainingConfiguration.decode(yaml: "class_weights: {neg: 1, pos: 2.0}").classWeights,
            .byLabel(["neg": 1, "pos": 2]))
        // Integer labels are mapping keys too.
        XCTAssertEqual(
            try TrainingConfiguration.decode(yaml: "class_weights:\n  0: 1.0\n  1: 4.0").classWeights,
            .byLabel(["0": 1, "1": 4]))
        XCTAssertEqual(try TrainingConfiguration.decode(json: Data(#"{"class_weights": "balanced"}"#.utf8)).classWeights, .balanced)
        XCTAssertEqual(try TrainingConfiguration.decode(json: Data(#"{"class_weights": [1, 3]}"#.utf8)).classWeights, .list([1, 3]))
        XCTAssertEqual(
            try TrainingConfiguration.decode(json: Data(#"{"class_weights": {"a": 0.5}}"#.utf8)).classWeights,
            .byLabel(["a": 0.5]))

        let bad = configurationError { _ = try TrainingConfiguration.decode(yaml: "class_weights: inverse") }
        XCTAssertEqual(bad?.keys, ["class_weights"])
        XCTAssertTrue(
            bad?.description.contains(
                "`class_weights` must be `balanced`, a list of numbers, or a mapping from label to number, or null, found `inverse`") ?? false,
            "\(String(describing: bad))")
        let badList = configurationError { _ = try TrainingConfiguration.decode(yaml: "class_weights: [1, heavy]") }
        XCTAssertEqual(badList?.keys, ["class_weights"])
    }

    func testEncodingRoundTripsThroughJSONAndYAML() throws {
        for configuration in [TrainingConfiguration(), Self.full] {
            let json = try JSONEncoder().encode(configuration)
            XCTAssertEqual(try TrainingConfiguration.decode(json: json), configuration)
            let yaml = try configuration.yamlString()
            XCTAssertEqual(try TrainingConfiguration.decode(yaml: yaml), configuration, yaml)
        }
        for weights in [ClassWeights.balanced, .list([1, 2]), .byLabel(["x": 2])] {
            var c = TrainingConfiguration()
            c.classWeights = weights
            XCTAssertEqual(try TrainingConfiguration.decode(yaml: try c.yamlString()).classWeights, weights)
        }
        // Every key is written, unset optional ones as null.
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingConfiguration())) as? [String: Any])
        XCTAssertEqual(Set(object.keys), Set(ConfigurationKey.all.map(\.name)))
        XCTAssertTrue(object["eval_steps"] is NSNull)
    }

    func testExampleConfigLoadsAndValidates() throws {
        let path = TestAssets.packageRoot.appendingPathComponent("examples/rotten_tomatoes.yaml").path
        let c = try TrainingConfiguration.load(path: path)
        XCTAssertNoThrow(try c.validate())
        XCTAssertEqual(c.modelDir, ".cache/models/all-MiniLM-L6-v2")
        XCTAssertEqual(c.textColumn, "text")
        XCTAssertEqual(c.labelColumn, "category")
        XCTAssertTrue(c.splitsTrainFile)
        XCTAssertEqual(c.resolvedDataFormat(forFile: try XCTUnwrap(c.trainFile)), .csv)
        XCTAssertEqual(c.maxLength, 64)
        XCTAssertEqual(c.perDeviceTrainBatchSize, 32)
        XCTAssertEqual(c.learningRate, 5e-5)
        XCTAssertEqual(c.lrSchedulerType, .linear)
        XCTAssertEqual(c.warmupRatio, 0.1)
        XCTAssertEqual(c.weightDecay, 0.01)
        XCTAssertEqual(c.seed, 42)
        XCTAssertTrue((1...2).contains(c.numTrainEpochs))
    }

    func testDescribeListsEverySettingSortedWithResolvedValues() throws {
        let c = try TrainingConfiguration.load(path: configFixture("minimal", "yaml"))
        let lines = c.describe().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, ConfigurationKey.all.count)
        let keys = lines.map { String($0.prefix { $0 != ":" }) }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertEqual(Set(keys), Set(ConfigurationKey.all.map(\.name)))
        XCTAssertTrue(lines.contains("learning_rate: 5e-05"), c.describe())
        XCTAssertTrue(lines.contains("split_ratios: [0.8, 0.1, 0.1]"))
        XCTAssertTrue(lines.contains("lr_scheduler_type: linear"))
        XCTAssertTrue(lines.contains("output_dir: out"))
        XCTAssertTrue(lines.contains("class_weights: null"))
        XCTAssertTrue(lines.contains("eval_steps: null (→ 500, logging_steps)"))
        XCTAssertTrue(lines.contains("metric_for_best_model: null (→ loss)"))
        XCTAssertTrue(lines.contains("greater_is_better: null (→ false, from loss)"))
        XCTAssertTrue(lines.contains("data_format: null (→ csv, from the extension)"))
        let full = Self.full.describe()
        XCTAssertTrue(full.contains("class_weights: {fresh: 1.0, plot: 3.0, rotten: 1.5}"), full)
        XCTAssertTrue(full.contains("eval_steps: 50\n"), full)
    }

    func testHelpTextListsEveryFlagWithHelpAndDefault() {
        let help = TrainingConfiguration.helpText()
        for key in ConfigurationKey.all {
            XCTAssertTrue(help.contains(key.flag + " "), key.flag)
            XCTAssertTrue(help.contains(key.help), key.name)
        }
        XCTAssertTrue(help.contains("--learning-rate <number>"), help)
        XCTAssertTrue(help.contains("(default: 5e-05)"), help)
        XCTAssertTrue(help.contains("--lr-scheduler-type <linear|cosine|constant|constant_with_warmup>"), help)
        XCTAssertTrue(help.contains("--load-best-model-at-end [true|false]"), help)
        XCTAssertTrue(help.contains("Data:"))
        XCTAssertEqual(ConfigurationKey.named("learning_rate")?.flag, "--learning-rate")
    }

    func testResolvedBestModelDirection() {
        var c = TrainingConfiguration()
        c.metricForBestModel = "accuracy"
        XCTAssertTrue(c.resolvedGreaterIsBetter)
        c.metricForBestModel = "eval_loss"
        XCTAssertFalse(c.resolvedGreaterIsBetter)
        c.greaterIsBetter = true
        XCTAssertTrue(c.resolvedGreaterIsBetter)
    }
}
