import FTCore
import FTModel
@testable import FTTrain
import Foundation
import TestSupport
import XCTest

/// A seeded mutation fuzzer over every file parser (safetensors header and body, `config.json`, CSV,
/// TSV, JSON Lines, the YAML/JSON training configuration, `vocab.txt` and `tokenizer_config.json`):
/// thousands of mutated inputs each, every one must load or fail with an error that names the file.
/// A trap ends the run (the input is left in the scratch file the test prints); a case slower than
/// 2 s is a hang. The seeds are fixed and so is the RNG, so every run tries the same inputs.
/// Each format has a time budget (stopping early prints it; 60 s in all with GGUF's in FuzzTests+GGUF.swift, lineage.json's in FuzzTests+Lineage.swift, the tagged-sentence readers' in FuzzTests+TaggedSentences.swift and the SQuAD readers' in FuzzTests+SquadData.swift), so the class stays under a
/// minute even on a loaded machine; `FTTRAIN_FUZZ_SCALE=5` multiplies cases and budgets for a deeper run.
final class FuzzTests: XCTestCase {
    // MARK: - safetensors

    func testFuzzSafeTensors() throws {
        let seeds = try safeTensorsSeeds()
        let split = seeds.map(Self.splitSafeTensors)
        var headers = Mutator(seed: 11, seeds: split.map(\.header), dictionary: Self.safeTensorsDictionary, text: true)
        var bodies = Mutator(seed: 12, seeds: split.map(\.body), text: false)
        var whole = Mutator(seed: 13, seeds: seeds, dictionary: Self.safeTensorsDictionary, text: false)
        var rng = SeededRNG(seed: 14)
        let next: () -> [UInt8] = {
            switch rng.next() % 10 {
            case 0..<6:
                // The header mutated, its length prefix kept right (mostly), so the JSON is what is tested.
                let header = headers.next()
                var length = UInt64(header.count)
                if rng.next() % 8 == 0 { length &+= UInt64(bitPattern: Int64(rng.next() % 17) - 8) }
                return Self.littleEndian(length) + header + split[headers.lastSeed].body
            case 6..<8:
                let body = bodies.next()
                let header = split[bodies.lastSeed].header
                return Self.littleEndian(UInt64(header.count)) + header + body
            default:
                return whole.next()
            }
        }
        let tiny = try tinyModelDirectory()
        let report = try Fuzz.run(
            "safetensors", cases: 4000, fileName: "model.safetensors", budget: 10,
            prepare: { dir in
                try FileManager.default.copyItem(at: tiny.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
            }, next: next
        ) { path, _ in
            let file = try SafeTensorsFile(path: path)
            // Every tensor must be readable once the header validated.
            for info in file.tensors {
                if info.dtype.isFloatingPoint { _ = try file.floats(info.name) } else { _ = try file.int64s(info.name) }
            }
            // And the model loader on top of it (the config is the tiny model's own, so it fits).
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try Fuzz.alsoRun("EncoderModel.load", names: [path, "model.safetensors"]) {
                _ = try EncoderModel.load(modelDirectory: directory)
            }
        }
        Fuzz.check(report)
    }

    static let safeTensorsDictionary = [
        "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"",
        "\"F16\"", "\"BF16\"", "\"I64\"", "\"BOOL\"", "\"U8\"", "\"F64\"", "[]", "[0,0]",
        "{}", "null", "true", "\"\"", "\\u0000", "\\ud800", "[[[[", "]]]]",
    ]

    /// The tiny model's file and a file of every dtype, a scalar, an empty tensor and metadata.
    private func safeTensorsSeeds() throws -> [[UInt8]] {
        let tiny = try Array(Data(contentsOf: tinyModelDirectory().appendingPathComponent("model.safetensors")))
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "note": "é\"\\"])
        try writer.add("f32", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6])
        try writer.add("f16", shape: [3], floats: [0.5, -1, 65504], as: .F16)
        try writer.add("bf16", shape: [2], floats: [1e30, -0.0], as: .BF16)
        try writer.add("f64", shape: [1, 1], floats: [3.25], as: .F64)
        try writer.add("scalar", shape: [], floats: [7])
        try writer.add("empty", shape: [0, 4], floats: [])
        try writer.add("i64", shape: [2], int64s: [Int64.min, Int64.max])
        try writer.add("i32", shape: [1], rawBytes: [1, 0, 0, 0x80], dtype: .I32)
        try writer.add("i16", shape: [2], rawBytes: [0xFF, 0x7F, 0, 0x80], dtype: .I16)
        try writer.add("i8", shape: [2], rawBytes: [0x80, 0x7F], dtype: .I8)
        try writer.add("u8", shape: [2], rawBytes: [0, 255], dtype: .U8)
        try writer.add("bool", shape: [3], rawBytes: [0, 1, 1], dtype: .BOOL)
        return [tiny, writer.serialized()]
    }

    private static func splitSafeTensors(_ bytes: [UInt8]) -> (header: [UInt8], body: [UInt8]) {
        let n = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        return (Array(bytes[8..<8 + n]), Array(bytes[(8 + n)...]))
    }

    private static func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    // MARK: - config.json

    func testFuzzModelConfig() throws {
        let tiny = try tinyModelDirectory()
        let real = try Data(contentsOf: TestAssets.realModelDirectory().appendingPathComponent("config.json"))
        let seeds = [
            try Array(Data(contentsOf: tiny.appendingPathComponent("config.json"))), Array(real),
            Array(
                #"{"vocab_size":12,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":64,"classifier_dropout":null}"#
                    .utf8),
        ]
        var mutator = Mutator(
            seed: 21, seeds: seeds,
            dictionary: [
                "\"vocab_size\"", "\"hidden_size\"", "\"num_hidden_layers\"",
                "\"num_attention_heads\"", "\"intermediate_size\"", "\"hidden_act\"",
                "\"layer_norm_eps\"", "\"classifier_dropout\"", "\"model_type\"",
                "null", "true", "\"gelu\"", "[]", "{}",
            ], text: true)
        let report = try Fuzz.run(
            "config.json", cases: 2500, fileName: "config.json", alsoAccepted: ["model.safetensors"],
            budget: 5,
            prepare: { dir in
                try FileManager.default.copyItem(
                    at: tiny.appendingPathComponent("model.safetensors"), to: dir.appendingPathComponent("model.safetensors"))
            }, next: { mutator.next() }
        ) { path, _ in
            let config = try EncoderConfig.load(path: path)
            // Building a model allocates what the config asks for: only small ones are built here.
            // (Huge sizes are ModelConfigSizeTests' subject.)
            let c = config
            let h = Double(c.hiddenSize), layers = Double(c.numHiddenLayers)
            let parameters =
                (Double(c.vocabSize) + Double(c.maxPositionEmbeddings) + Double(c.typeVocabSize)) * h
                + layers * (4 * h * h + 2 * h * Double(c.intermediateSize))
            guard parameters < 2e6, c.numHiddenLayers <= 64 else { return }
            _ = try EncoderModel.load(modelDirectory: URL(fileURLWithPath: path).deletingLastPathComponent())
        }
        Fuzz.check(report)
    }

    // MARK: - CSV, TSV, JSON Lines

    func testFuzzCSV() throws {
        try fuzzDelimited(name: "csv", delimiter: ",", seed: 31)
    }

    func testFuzzTSV() throws {
        try fuzzDelimited(name: "tsv", delimiter: "\t", seed: 41)
    }

    private func fuzzDelimited(name: String, delimiter: String, seed: UInt64) throws {
        let d = delimiter
        var seeds = [
            "text\(d)label\n\"Great film, truly great\"\(d)pos\n\"He said \"\"wow\"\"\"\(d)neg\n\"two\nlines\"\(d)pos\n",
            "id\(d)text\(d)label\(d)source\r\n1\(d)plain text\(d)10\(d)web\r\n2\(d)不好看 😡\(d)2\(d)weibo\r\n\r\n3\(d) \(d)1\(d)x\r\n",
            "\u{FEFF}label\(d)text\n0\(d)<b>bold</b>ly &amp; &#x1F600; &#99999999;\n1\(d)\"a\"b\"\n",
        ].map { Array($0.utf8) }
        if d == "," {
            seeds.append(try Array(Data(contentsOf: fixture("data/awkward.csv"))))
            seeds.append(try rottenTomatoesPrefix())
        }
        var mutator = Mutator(seed: seed, seeds: seeds, dictionary: ["text", "label", "source", "\"\"", d, "&amp;", "<script>"], text: true)
        let report = try Fuzz.run(name, cases: 2500, fileName: "data.\(name)", budget: name == "csv" ? 5 : 4, next: { mutator.next() }) {
            path, index in
            try Self.readEveryWay(path, pairColumn: "source", index: index)
        }
        Fuzz.check(report)
    }

    func testFuzzJSONLines() throws {
        let seeds = [
            try Array(Data(contentsOf: fixture("data/reviews.jsonl"))),
            Array(
                #"""
                {"text": "fine", "label": 1, "source": "a"}
                {"text": "esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \udc00", "label": 2.0, "source": "b"}
                {"text": "nested", "label": "x", "extra": {"a": [1, 2, {"b": null}]}, "source": "c"}
                {"text": "numbers", "label": -0, "n": -12.5e+3, "source": "d", "t": true, "f": false}
                """#.utf8),
            Array("{\"label\":\"neg\",\"text\":\"crlf\"}\r\n\r\n{\"text\":\"x\",\"label\":99999999999999999999}\r\n".utf8),
        ]
        var mutator = Mutator(
            seed: 51, seeds: seeds,
            dictionary: [
                "\"text\"", "\"label\"", "\"source\"", "null", "true", "[]", "{}",
                "\\u", "\\ud800", ": ", ", ",
            ], text: true)
        let report = try Fuzz.run("jsonl", cases: 2500, fileName: "data.jsonl", budget: 5, next: { mutator.next() }) { path, index in
            try Self.readEveryWay(path, pairColumn: "source", index: index)
        }
        Fuzz.check(report)
    }

    /// The plain `DataReader.read` of the file at `path`, which decides whether the case counts as
    /// loaded, and in turn (by case number) one of the other readers, whose errors must name the file too.
    private static func readEveryWay(_ path: String, pairColumn: String, index: Int) throws {
        let names = [path]
        switch index % 4 {
        case 0:
            try Fuzz.alsoRun("DataReader.read (pair, all cleaning, skip bad rows)", names: names) {
                let options = DataReadOptions(columns: DataColumns(textPair: pairColumn), cleaning: .all, skipBadRows: true)
                _ = try DataReader.read(path, options: options)
            }
        case 1:
            try Fuzz.alsoRun("DataReader.readTexts", names: names) { _ = try DataReader.readTexts(path, cleaning: .all) }
        case 2:
            // What `train` does with it: split, label set, oversampling, balanced class weights.
            try Fuzz.alsoRun("TextClassificationData.prepare", names: names) {
                let options = DataPreparationOptions(
                    trainPath: path, read: DataReadOptions(skipBadRows: true), deduplicate: true,
                    oversample: true, classWeighting: .balanced)
                _ = try TextClassificationData.prepare(options)
            }
        default:
            try Fuzz.alsoRun("DataTable.read", names: names) {
                let table = try DataTable.read(path)
                _ = table.serialized(table.rows)
            }
        }
        _ = try DataReader.read(path)
    }

    // MARK: - Training configuration (YAML and JSON)

    func testFuzzTrainingConfigYAML() throws {
        let names = ["full.yaml", "minimal.yaml", "wrong_types.yaml", "unknown_keys.yaml", "duplicate_keys.yaml", "list_at_top.yaml"]
        var seeds = try names.map { try Array(Data(contentsOf: fixture("config/" + $0))) }
        seeds.append(Array("a: &x [1, 2]\nsplit_ratios: *x\nclass_weights: !!map {a: 1}\nseed: !!str 3\nlearning_rate: .inf\n".utf8))
        // Short files, so that one mutation changes a value rather than breaking the structure.
        seeds += [
            "seed: 7\n", "max_steps: 1000\nlogging_steps: 10\n", "class_weights: balanced\nlearning_rate: 3.0e-5\n",
            "lora_target_modules: [query, value]\nfreeze_layers: \"0-1\"\n",
        ].map { Array($0.utf8) }
        var mutator = Mutator(
            seed: 61, seeds: seeds,
            dictionary: [
                ": ", "- ", "&a ", "*a", "!!str ", "!!binary ", "{", "[", "? ",
                "|\n", ">\n", "---\n", "...\n", "%YAML 1.1\n", "null", "~", ".nan",
                ":", "1:30", ":59:59:59:59:59:59:59:59:59:59",
            ],
            text: true)
        try fuzzTrainingConfig(name: "config.yaml", seed: 61, mutator: &mutator)
    }

    func testFuzzTrainingConfigJSON() throws {
        let names = ["full.json", "minimal.json", "wrong_types.json", "not_json.json"]
        let seeds = try names.map { try Array(Data(contentsOf: fixture("config/" + $0))) }
        var mutator = Mutator(
            seed: 71, seeds: seeds,
            dictionary: [
                "\"learning_rate\"", "\"class_weights\"", "\"split_ratios\"",
                "null", "true", "[]", "{}", "1e999",
            ], text: true)
        try fuzzTrainingConfig(name: "config.json", seed: 71, mutator: &mutator)
    }

    private func fuzzTrainingConfig(name: String, seed: UInt64, mutator: inout Mutator) throws {
        let report = try Fuzz.run("training-" + name, cases: 2000, fileName: name, budget: name.hasSuffix("yaml") ? 5 : 4, next: { mutator.next() }) {
            path, _ in
            let configuration = try TrainingConfiguration.load(path: path)
            // What `train` does next with it: validation (whose errors are the merged settings', not the file's) and the saved copy.
            _ = configuration.validationProblems()
            _ = try? configuration.yamlString()
        }
        Fuzz.check(report)
    }

    // MARK: - vocab.txt and tokenizer_config.json

    func testFuzzVocabulary() throws {
        let tiny = try String(contentsOf: tinyModelDirectory().appendingPathComponent("vocab.txt"), encoding: .utf8)
        let realLines = try String(contentsOf: TestAssets.realModelDirectory().appendingPathComponent("vocab.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let excerpt = (realLines[0..<110] + realLines[1996..<2300] + realLines[29500..<29700]).joined(separator: "\n") + "\n"
        let seeds = [tiny, excerpt, "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nun\r\n##aff\r\n##able\r\n##\r\n#\r\n\r\né\r\ne\u{301}\r\n"].map {
            Array($0.utf8)
        }
        var mutator = Mutator(seed: 81, seeds: seeds, dictionary: ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "##", "\n##", "\n"], text: true)
        let report = try Fuzz.run("vocab.txt", cases: 2500, fileName: "vocab.txt", budget: 5, next: { mutator.next() }) { path, _ in
            let tokenizer = try BertTokenizer.load(modelDirectory: URL(fileURLWithPath: path).deletingLastPathComponent())
            Self.exercise(tokenizer)
        }
        Fuzz.check(report)
    }

    func testFuzzTokenizerConfig() throws {
        let real = try Array(Data(contentsOf: TestAssets.realModelDirectory().appendingPathComponent("tokenizer_config.json")))
        let seeds = [real, Array(#"{"do_lower_case": false, "strip_accents": true, "tokenize_chinese_chars": false}"#.utf8)]
        var mutator = Mutator(seed: 91, seeds: seeds, dictionary: ["null", "true", "false", "0", "\"do_lower_case\""], text: true)
        let tiny = try tinyModelDirectory()
        let report = try Fuzz.run(
            "tokenizer_config.json", cases: 1000, fileName: "tokenizer_config.json", budget: 2,
            prepare: { dir in
                try FileManager.default.copyItem(at: tiny.appendingPathComponent("vocab.txt"), to: dir.appendingPathComponent("vocab.txt"))
            }, next: { mutator.next() }
        ) { path, _ in
            Self.exercise(try BertTokenizer.load(modelDirectory: URL(fileURLWithPath: path).deletingLastPathComponent()))
        }
        Fuzz.check(report)
    }

    /// A loaded tokenizer must also tokenize: special tokens, continuations, accents, CJK, emoji.
    private static func exercise(_ tokenizer: BertTokenizer) {
        let text = "Unaffable [CLS]x[MASK] ##ing é e\u{301} 不好看 😡 [SEP"
        let encoding = tokenizer.encode(text, pair: "hello world", maxLength: 9)
        _ = tokenizer.convertIdsToTokens(encoding.inputIds + [-1, 1 << 30])
        _ = tokenizer.tokenize(text)
        _ = tokenizer.padBatch([encoding, tokenizer.encode("")], padTo: 12)
    }

    // MARK: - Regressions (inputs the fuzzer or a reading of the parsers found)

    /// YAML 1.1 reads a plain `1:30` as a base-60 integer (90), and Yams multiplies its parts without
    /// overflow checks: an integer setting of `999999999999999999:0` (or of 11 or more parts) trapped
    /// inside Yams. It must be a type error naming the file and the key, and a string setting must
    /// keep such text as it is.
    func testRegressionYAMLBase60IntegerOverflow() throws {
        let directory = scratch.appendingPathComponent("base60")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("config.yaml").path
        for value in [
            "999999999999999999:0", "1:1:1:1:1:1:1:1:1:1:1", "-153722867280912931:0", "+9223372036854775807:1",
            "--153722867280912930:-8", "1_000_000_000_000_000_000:0",
        ] {
            try "seed: \(value)\nmax_steps: 7\n".write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try TrainingConfiguration.load(path: path), value) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.contains(path) && message.contains("seed"), message)
            }
        }
        // In range, base 60 is still read as YAML 1.1 says (Yams' own behaviour, kept).
        try "seed: 1:30\nfreeze_layers: 999999999999999999:0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try TrainingConfiguration.load(path: path)
        XCTAssertEqual(loaded.seed, 90)
        XCTAssertEqual(loaded.freezeLayers, "999999999999999999:0")
    }

    /// `freeze_layers: "0-1000000000000"` built the set of its layers one by one: validation ran for
    /// hours and exhausted memory. Now any index above `LayerSelection.maximumIndex` is invalid.
    func testRegressionHugeFreezeLayersRangeFailsValidationQuickly() throws {
        let path = scratch.appendingPathComponent("freeze.yaml").path
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for value in ["0-1000000000000", "0-9223372036854775807", "10000", "1,5-10000"] {
            try "freeze_layers: \"\(value)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            let configuration = try TrainingConfiguration.load(path: path)
            let start = Date()
            let outcome = Fuzz.runWithTimeout(10) {
                let problems = configuration.validationProblems()
                XCTAssertTrue(problems.contains { $0.key == "freeze_layers" }, "\(value): \(problems)")
                XCTAssertTrue(configuration.frozenLayers.isEmpty)
            }
            XCTAssertNotNil(outcome, "\(value): validation did not finish within 10 s")
            XCTAssertLessThan(Date().timeIntervalSince(start), 1, value)
            if outcome == nil { return }  // it keeps running; do not start another
        }
        XCTAssertEqual(LayerSelection.parse("0-2,9999"), [0, 1, 2, 9999])
    }

    /// A training file too small for the three-way split failed with "invalid split: 2 examples
    /// cannot fill 3 splits", naming no file (found by the CSV fuzz run through `prepare`).
    func testRegressionSplitErrorNamesTheTrainingFile() throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let path = scratch.appendingPathComponent("two.csv").path
        try "text,label\na,x\nb,y\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextClassificationData.prepare(DataPreparationOptions(trainPath: path))) { error in
            XCTAssertEqual(error as? DataError, .invalidSplit("\(path): 2 examples cannot fill 3 splits with ratios 0.8/0.1/0.1"))
            XCTAssertTrue(String(describing: error).contains(path))
        }
    }

    /// Inputs larger than the mutator builds, on the parsers' super-linear paths: the edit distance
    /// behind "did you mean" for unknown configuration keys, and HTML stripping of tags or comments
    /// that never close. Each must take well under the 2 s a fuzz case may.
    func testLargeInputsOnSlowPathsAreQuick() throws {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        func timed(_ what: String, _ body: @escaping @Sendable () throws -> Void) {
            let start = Date()
            let outcome = Fuzz.runWithTimeout(60, body)
            let elapsed = Date().timeIntervalSince(start)
            print("\(what): \(String(format: "%.3f", elapsed)) s")
            XCTAssertNotNil(outcome, "\(what): no result after 60 s")
            XCTAssertLessThan(elapsed, 2, what)
        }
        let longKey = scratch.appendingPathComponent("long-key.yaml").path
        try (String(repeating: "learning_rate", count: 20_000) + ": 1\n").write(toFile: longKey, atomically: true, encoding: .utf8)
        timed("a 260 kB unknown key") { XCTAssertThrowsError(try TrainingConfiguration.load(path: longKey)) }
        let manyKeys = scratch.appendingPathComponent("many-keys.yaml").path
        try (0..<3000).map { "per_device_train_batch_size_\($0): 1\n" }.joined().write(toFile: manyKeys, atomically: true, encoding: .utf8)
        timed("3000 unknown keys") { XCTAssertThrowsError(try TrainingConfiguration.load(path: manyKeys)) }
        for (name, field) in [
            ("unclosed tags", String(repeating: "<a", count: 100_000)),
            ("unclosed comments", String(repeating: "<!--", count: 50_000)),
            ("unclosed quoted attributes", String(repeating: "<a b=\"", count: 30_000)),
        ] {
            let path = scratch.appendingPathComponent("html.csv").path
            try "text,label\n\"\(field)\",x\n".write(toFile: path, atomically: true, encoding: .utf8)
            timed("HTML stripping of \(name)") {
                _ = try DataReader.read(path, options: DataReadOptions(cleaning: .all))
            }
        }
    }

    // MARK: - Inputs a mutator rarely builds

    /// Nesting far deeper than any mutation reaches (a recursive parser overflows its stack on it),
    /// and YAML aliases that expand exponentially ("billion laughs"): each must be rejected (or
    /// loaded) quickly, without a crash, by every parser of that syntax.
    func testDeepNestingAndAliasBombs() throws {
        let deep = 200_000
        let brackets = String(repeating: "[", count: deep) + String(repeating: "]", count: deep)
        let objects = String(repeating: "{\"a\":", count: deep) + "1" + String(repeating: "}", count: deep)
        var laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for i in 1...12 { laughs += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        laughs += "split_ratios: *a12\nclass_weights: *a12\nlora_target_modules: *a12\n"
        let tiny = try tinyModelDirectory()
        let directory = scratch.appendingPathComponent("deep")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: tiny.appendingPathComponent("vocab.txt"), to: directory.appendingPathComponent("vocab.txt"))

        func check(_ what: String, _ file: String, _ contents: [UInt8], _ load: @escaping @Sendable (String) throws -> Void) throws {
            let path = directory.appendingPathComponent(file).path
            try Data(contents).write(to: URL(fileURLWithPath: path))
            let start = Date()
            let outcome = Fuzz.runWithTimeout(20) { try load(path) }
            let elapsed = Date().timeIntervalSince(start)
            guard let outcome else { return XCTFail("\(what): no result after 20 s") }
            if case .failure(let error) = outcome, let problem = Fuzz.problem(with: error, names: [path]) {
                XCTFail("\(what): \(problem)")
            }
            XCTAssertLessThan(elapsed, 2, "\(what) took \(elapsed) s")
            let result: String
            switch outcome {
            case .success: result = "loaded"
            case .failure(let error): result = "rejected: " + String(describing: error).prefix(160)
            }
            print("\(what): \(String(format: "%.3f", elapsed)) s, \(result)")
        }
        let dashes = String(repeating: "- ", count: deep) + "x\n"  // YAML block sequences, one per "- "
        try check("training config YAML of deep block sequences", "dashes.yaml", Array(dashes.utf8)) {
            _ = try TrainingConfiguration.load(path: $0)
        }
        for (name, text) in [("brackets", brackets), ("objects", objects)] {
            let header = Array(text.utf8)
            try check("safetensors header of deep \(name)", "model.safetensors", Self.littleEndian(UInt64(header.count)) + header) {
                _ = try SafeTensorsFile(path: $0)
            }
            try check("config.json of deep \(name)", "config.json", Array(text.utf8)) { _ = try EncoderConfig.load(path: $0) }
            try check("JSONL of deep \(name)", "data.jsonl", Array(("{\"text\": \"a\", \"label\": 1, \"x\": " + text + "}\n").utf8)) {
                _ = try DataReader.read($0)
            }
            try check("training config JSON of deep \(name)", "train.json", Array(text.utf8)) { _ = try TrainingConfiguration.load(path: $0) }
            try check("training config YAML of deep \(name)", "train.yaml", Array(("seed: " + text + "\n").utf8)) {
                _ = try TrainingConfiguration.load(path: $0)
            }
            try check("tokenizer_config.json of deep \(name)", "tokenizer_config.json", Array(text.utf8)) {
                _ = try BertTokenizer.load(modelDirectory: URL(fileURLWithPath: $0).deletingLastPathComponent())
            }
        }
        try check("training config YAML with an alias bomb", "bomb.yaml", Array(laughs.utf8)) {
            let configuration = try TrainingConfiguration.load(path: $0)
            _ = try? configuration.yamlString()
        }
    }

    // MARK: - Seeds

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-fuzz-seeds-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// A tiny BERT (hidden 8, one layer) written once per test.
    private func tinyModelDirectory() throws -> URL {
        let directory = scratch.appendingPathComponent("tiny")
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) {
            try TinyModelDirectory.write(
                to: directory, words: ["un", "##aff", "##able", "hello", "world", "不", "好"],
                hiddenSize: 8, layers: 1, heads: 2)
        }
        return directory
    }

    private func fixture(_ relativePath: String) throws -> URL {
        try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/" + relativePath)
    }

    /// The header and first records of the real data set, with its `category` column named `label`.
    private func rottenTomatoesPrefix() throws -> [UInt8] {
        let path = TestAssets.packageRoot.appendingPathComponent(".cache/data/rotten_tomatoes/rotten_tomatoes.csv")
        let handle = try FileHandle(forReadingFrom: path)
        defer { try? handle.close() }
        let head = try XCTUnwrap(handle.read(upToCount: 3000))
        // Cut after the last complete record that ends a row (`,True` / `,False` then a line break).
        let text = String(decoding: head, as: UTF8.self)
        let end = try XCTUnwrap(text.range(of: ",False\n", options: .backwards) ?? text.range(of: ",True\n", options: .backwards))
        return Array(("label" + text[..<end.upperBound].dropFirst("category".count)).utf8)
    }
}
