import XCTest
@testable import FTTrain

final class ConfigOverridesTests: XCTestCase {
    func testKebabFlagsOverrideFileValues() throws {
        var c = try TrainingConfiguration.load(path: configFixture("minimal", "yaml"))
        try c.applyOverrides([
            "--learning-rate", "3e-5", "--num-train-epochs=2", "--load-best-model-at-end",
            "--output-dir", "elsewhere", "--lr-scheduler-type", "cosine", "--max-steps", "-1",
        ])
        XCTAssertEqual(c.learningRate, 3e-5)
        XCTAssertEqual(c.numTrainEpochs, 2)
        XCTAssertTrue(c.loadBestModelAtEnd)
        XCTAssertEqual(c.outputDir, "elsewhere", "flags beat the file")
        XCTAssertEqual(c.modelDir, "models/mini", "keys without a flag keep the file's value")
        XCTAssertEqual(c.lrSchedulerType, .cosine)
        XCTAssertEqual(c.maxSteps, -1)
    }

    func testSnakeCaseFlagsAndLastOccurrenceWins() throws {
        let c = try TrainingConfiguration().applyingOverrides(["--per_device_train_batch_size", "16", "--per-device-train-batch-size=32"])
        XCTAssertEqual(c.perDeviceTrainBatchSize, 32)
    }

    func testBooleanForms() throws {
        let base = TrainingConfiguration()
        XCTAssertTrue(try base.applyingOverrides(["--group-by-length"]).groupByLength)
        XCTAssertTrue(try base.applyingOverrides(["--group-by-length", "true"]).groupByLength)
        XCTAssertFalse(try base.applyingOverrides(["--deduplicate", "false"]).deduplicate)
        XCTAssertFalse(try base.applyingOverrides(["--deduplicate=false"]).deduplicate)
        XCTAssertTrue(try base.applyingOverrides(["--oversample=yes"]).oversample)
        XCTAssertFalse(try base.applyingOverrides(["--no-collapse-whitespace"]).collapseWhitespace)
        // A bare boolean flag followed by another flag does not swallow it.
        let c = try base.applyingOverrides(["--strip-html", "--seed", "3", "--drop-symbols"])
        XCTAssertTrue(c.stripHTML)
        XCTAssertTrue(c.dropSymbols)
        XCTAssertEqual(c.seed, 3)
        // Optional booleans: bare means true, null clears.
        XCTAssertEqual(try base.applyingOverrides(["--greater-is-better"]).greaterIsBetter, true)
        XCTAssertEqual(try base.applyingOverrides(["--greater-is-better", "false"]).greaterIsBetter, false)
        var set = base
        set.greaterIsBetter = true
        XCTAssertNil(try set.applyingOverrides(["--greater-is-better=null"]).greaterIsBetter)
    }

    /// Issue 17's `--trace FILE`, beside `--trace` alone, `--trace false` and `--trace-file FILE`.
    func testTraceFlagTakesAFile() throws {
        let base = TrainingConfiguration()
        let named = try base.applyingOverrides(["--trace", "out/timeline.json", "--seed", "3"])
        XCTAssertTrue(named.trace)
        XCTAssertEqual(named.traceFile, "out/timeline.json")
        XCTAssertEqual(named.seed, 3)
        let inline = try base.applyingOverrides(["--trace=t.json"])
        XCTAssertTrue(inline.trace)
        XCTAssertEqual(inline.traceFile, "t.json")
        let bare = try base.applyingOverrides(["--trace", "--seed", "3"])
        XCTAssertTrue(bare.trace)
        XCTAssertNil(bare.traceFile, "a following flag is not a file")
        let off = try base.applyingOverrides(["--trace", "false"])
        XCTAssertFalse(off.trace)
        XCTAssertNil(off.traceFile)
        XCTAssertFalse(try base.applyingOverrides(["--trace", "x.json", "--no-trace"]).trace)
        XCTAssertEqual(try base.applyingOverrides(["--trace-file", "y.json"]).traceFile, "y.json")
        XCTAssertThrowsError(try base.applyingOverrides(["--no-trace=x.json"]), "--no-trace takes no file")
        XCTAssertThrowsError(try base.applyingOverrides(["--deduplicate", "x.json"]), "other booleans take no file") { error in
            XCTAssertTrue("\(error)".contains("unexpected argument `x.json`"), "\(error)")
        }
    }

    func testListsAndOptionalValues() throws {
        let base = TrainingConfiguration()
        XCTAssertEqual(try base.applyingOverrides(["--split-ratios", "0.7,0.2,0.1"]).splitRatios, [0.7, 0.2, 0.1])
        XCTAssertEqual(try base.applyingOverrides(["--split-ratios=[0.9, 0.05, 0.05]"]).splitRatios, [0.9, 0.05, 0.05])
        XCTAssertEqual(try base.applyingOverrides(["--eval-steps", "25"]).evalSteps, 25)
        var set = base
        set.evalSteps = 25
        set.textPairColumn = "title"
        let cleared = try set.applyingOverrides(["--eval-steps", "null", "--text-pair-column=none"])
        XCTAssertNil(cleared.evalSteps)
        XCTAssertNil(cleared.textPairColumn)
        XCTAssertEqual(try base.applyingOverrides(["--data-format", "jsonl"]).dataFormat, .jsonl)
        XCTAssertEqual(try base.applyingOverrides(["--hidden-dropout-prob", "0"]).hiddenDropoutProb, 0)
    }

    func testClassWeightFlagForms() throws {
        let base = TrainingConfiguration()
        XCTAssertEqual(try base.applyingOverrides(["--class-weights", "balanced"]).classWeights, .balanced)
        XCTAssertEqual(try base.applyingOverrides(["--class-weights", "1,2.5,1"]).classWeights, .list([1, 2.5, 1]))
        XCTAssertEqual(
            try base.applyingOverrides(["--class-weights=fresh=1,rotten=1.4"]).classWeights,
            .byLabel(["fresh": 1, "rotten": 1.4]))
        XCTAssertEqual(
            try base.applyingOverrides(["--class-weights", "neg:1, pos:3"]).classWeights,
            .byLabel(["neg": 1, "pos": 3]))
        XCTAssertNil(try base.applyingOverrides(["--class-weights", "null"]).classWeights)
        let error = configurationError { _ = try base.applyingOverrides(["--class-weights", "heavy"]) }
        XCTAssertEqual(
            error?.description,
            "command line: `--class-weights` must be `balanced`, a list of numbers, or a mapping from label to number, or null, found `heavy`")
    }

    func testUnknownFlagSuggestsTheClosestKey() {
        let error = configurationError { _ = try TrainingConfiguration().applyingOverrides(["--learning-rat", "3e-5"]) }
        XCTAssertEqual(error?.source, "command line")
        XCTAssertEqual(error?.problems.count, 1, "the unknown flag's value is not reported separately")
        XCTAssertEqual(error?.problems.first?.kind, .unknownFlag)
        XCTAssertEqual(error?.problems.first?.suggestion, "learning_rate")
        XCTAssertEqual(error?.description, "command line: unknown flag `--learning-rat`; did you mean `--learning-rate`?")

        let aliased = configurationError { _ = try TrainingConfiguration().applyingOverrides(["--epochs=2"]) }
        XCTAssertEqual(aliased?.description, "command line: unknown flag `--epochs`; did you mean `--num-train-epochs`?")
        let foreign = configurationError { _ = try TrainingConfiguration().applyingOverrides(["--tf32"]) }
        XCTAssertTrue(foreign?.description.contains("a Hugging Face TrainingArguments setting that fttrain does not implement") ?? false)
        // fp16 on a CPU is refused with the CPU's mixed precision named.
        let fp16 = configurationError { _ = try TrainingConfiguration().applyingOverrides(["--fp16"]) }
        XCTAssertEqual(
            fp16?.description,
            "command line: unknown flag `--fp16`: float16 mixed precision is a GPU setting; on CPU use `bf16: true` (bfloat16 products, float32 accumulation)")
    }

    func testBadValuesMissingValuesAndStrayArguments() {
        let error = configurationError {
            _ = try TrainingConfiguration().applyingOverrides([
                "--learning-rate", "fast", "--eval-strategy", "sometimes", "stray", "--seed", "--max-length", "1.5",
                "--no-learning-rate", "--no-deduplicate=yes", "--split-ratios", "0.8,,0.2", "--save-steps",
            ])
        }
        guard let error else { return }
        XCTAssertEqual(
            error.problems.map(\.kind),
            [
                .wrongType, .wrongType, .unknownFlag, .missingFlagValue, .wrongType,
                .unknownFlag, .wrongType, .wrongType, .missingFlagValue,
            ])
        let text = error.description
        XCTAssertTrue(text.hasPrefix("command line: 9 problems"), text)
        XCTAssertTrue(text.contains("`--learning-rate` must be a number, found `fast`"), text)
        XCTAssertTrue(text.contains("`--eval-strategy` must be one of `no`, `steps`, `epoch`, found `sometimes`"), text)
        XCTAssertTrue(text.contains("unexpected argument `stray`"), text)
        XCTAssertTrue(text.contains("`--seed` needs a value: an integer"), text)
        XCTAssertTrue(text.contains("`--max-length` must be an integer, found `1.5`"), text)
        XCTAssertTrue(text.contains("unknown flag `--no-learning-rate`"), text)
        XCTAssertTrue(text.contains("`--no-deduplicate=yes` takes no value"), text)
        XCTAssertTrue(text.contains("`--split-ratios` must be a list of numbers, found `0.8,,0.2`"), text)
        XCTAssertTrue(text.contains("`--save-steps` needs a value"), text)
    }

    func testFailedOverridesLeaveTheConfigurationUnchanged() {
        var c = TrainingConfiguration()
        XCTAssertThrowsError(try c.applyOverrides(["--seed", "1", "--bogus"]))
        XCTAssertEqual(c, TrainingConfiguration())
    }
}
