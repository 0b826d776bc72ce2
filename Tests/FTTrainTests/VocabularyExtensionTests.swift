import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// `fttrain extend-vocab` (``VocabularyExtension``) on a tiny random BERT: the characters a corpus
/// lacks counted after normalisation, kept by `min_count`, appended to `vocab.txt` with ids in
/// order of count, `[UNK]` rates before and after, a complete directory fttrain loads back
/// (mean-initialised rows), the corpus formats, the errors, and LoRA training the new rows.
/// transformers loading the directory with the same ids: scripts/reference/check_extend_vocab.py
/// (run by hand).
final class VocabularyExtensionTests: XCTestCase {
    var directory: URL!
    var model: URL { directory.appendingPathComponent("model") }
    /// The tiny vocabulary after the 5 specials.
    static let words = ["张", "北", "在", "run", "##s"]
    static let V = 10

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-extend-\(UUID().uuidString)")
        try TinyModelDirectory.write(to: model, words: Self.words)
        // A tokenizer.json, as most hub models have: its model.vocab must grow too.
        let vocab = Dictionary(uniqueKeysWithValues: (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + Self.words).enumerated().map { ($1, $0) })
        let json: [String: Any] = ["version": "1.0", "added_tokens": [], "model": ["type": "WordPiece", "unk_token": "[UNK]", "vocab": vocab]]
        try JSONSerialization.data(withJSONObject: json).write(to: model.appendingPathComponent("tokenizer.json"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func extend(
        _ paths: [String], minCount: Int = 1, words: Bool = false, maxNew: Int? = nil, output: String = "out", force: Bool = false
    )
        throws -> VocabularyExtension.Summary
    {
        var options = VocabularyExtension.Options()
        options.minCount = minCount
        options.words = words
        options.maxNew = maxNew
        return try VocabularyExtension(options: options).run(
            modelDirectory: model, corpus: try VocabularyCorpus(paths: paths), output: directory.appendingPathComponent(output), force: force)
    }

    /// 京 ×3, 上 ×2, 海 ×1; "zq" needs "z" and "##q" once; "runs" is run + ##s (known).
    static let corpus = "张在北京\n北京上海\n\n京 RUNS\n上zq\n"

    func testCountsMinCountIdsAndUnknownRates() throws {
        let census = { () -> WordPieceVocabularyCensus in
            var c = WordPieceVocabularyCensus(tokenizer: try! BertTokenizer.load(modelDirectory: self.model))
            for line in Self.corpus.split(separator: "\n") { c.add(text: String(line)) }
            return c
        }()
        XCTAssertEqual(census.missing, ["京": 3, "上": 2, "海": 1, "z": 1, "##q": 1], "after lower-casing: RUNS is run ##s")
        XCTAssertEqual(census.missingOrder, ["京", "上", "海", "z", "##q"])
        XCTAssertEqual(census.coverage.pieces, 13)
        XCTAssertEqual(census.coverage.unknownPieces, 7)
        XCTAssertEqual(census.coverage.characters, 16)
        XCTAssertEqual(census.coverage.unknownCharacters, 8)

        let summary = try extend([try file("corpus.txt", Self.corpus)], minCount: 2)
        XCTAssertEqual(summary.characters.map(\.token), ["京", "上"])
        XCTAssertEqual(summary.characters.map(\.count), [3, 2])
        XCTAssertEqual(summary.leftOut, 3)
        XCTAssertEqual(summary.vocabularyAfter, Self.V + 2)
        XCTAssertEqual(summary.before.unknownPieceRate, 7.0 / 13, accuracy: 1e-12)
        XCTAssertEqual(summary.after.unknownPieces, 2, "海 and zq")
        XCTAssertEqual(summary.after.unknownCharacters, 3)

        // min_count 1 takes all five, ties in order of first appearance; max_new caps them.
        let all = try extend([directory.appendingPathComponent("corpus.txt").path], output: "all")
        XCTAssertEqual(all.characters.map(\.token), ["京", "上", "海", "z", "##q"])
        XCTAssertEqual(all.after.unknownPieces, 0)
        let capped = try extend([directory.appendingPathComponent("corpus.txt").path], maxNew: 1, output: "capped")
        XCTAssertEqual(capped.characters.map(\.token), ["京"])
    }

    func testOutputIsACompleteDirectoryFttrainLoads() throws {
        _ = try extend([try file("corpus.txt", Self.corpus)], minCount: 2)
        let out = directory.appendingPathComponent("out")
        let tokenizer = try BertTokenizer.load(modelDirectory: out)
        let base = try BertTokenizer.load(modelDirectory: model)
        XCTAssertEqual(tokenizer.vocabularySize, Self.V + 2)
        XCTAssertEqual(tokenizer.wordPieceVocabularySize, Self.V + 2, "vocabulary entries, not added tokens")
        XCTAssertEqual(tokenizer.encode("北京上海").inputIds, [2, 6, 10, 11, 1, 3])
        XCTAssertEqual(tokenizer.encode("张 runs").inputIds, base.encode("张 runs").inputIds)
        let vocab = try String(contentsOf: out.appendingPathComponent("vocab.txt"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(vocab.suffix(2), ["京", "上"])
        let fast = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("tokenizer.json"))) as? [String: Any])
        let fastVocab = try XCTUnwrap((fast["model"] as? [String: Any])?["vocab"] as? [String: Int])
        XCTAssertEqual(fastVocab.count, Self.V + 2)
        XCTAssertEqual(fastVocab["京"], 10)
        XCTAssertEqual(fastVocab["上"], 11)
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["vocab_size"] as? Int, Self.V + 2)
        let summary = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(VocabularyExtension.summaryFile)))
                as? [String: Any])
        XCTAssertEqual(summary["new_ids"] as? [Int], [Self.V, Self.V + 2])

        // The weights: old rows unchanged, new rows the mean of the old; the model loads.
        let old = try SafeTensorsFile(path: model.appendingPathComponent("model.safetensors").path)
        let new = try SafeTensorsFile(path: out.appendingPathComponent("model.safetensors").path)
        let name = "embeddings.word_embeddings.weight"
        XCTAssertEqual(new.info(name)?.shape, [Self.V + 2, 32])
        let a = try old.floats(name), b = try new.floats(name)
        XCTAssertEqual(Array(b.prefix(a.count)), a)
        for k in 0..<32 {
            let mean = (0..<Self.V).reduce(0.0) { $0 + Double(a[$1 * 32 + k]) } / Double(Self.V)
            XCTAssertEqual(Double(b[Self.V * 32 + k]), mean, accuracy: 1e-6)
            XCTAssertEqual(b[(Self.V + 1) * 32 + k], b[Self.V * 32 + k])
        }
        for tensor in old.tensors where tensor.name != name {
            XCTAssertEqual(try new.floats(tensor.name), try old.floats(tensor.name), tensor.name)
        }
        let loaded = try ModelRegistry.load(modelDirectory: out, numLabels: 2)
        XCTAssertEqual(loaded.vocabularySize, Self.V + 2)
    }

    func testFormatsAndWords() throws {
        let jsonl = try file("ner.jsonl", "{\"tokens\": [\"张\", \"京\"], \"tags\": [\"B-PER\", \"O\"]}\n{\"text\": \"海海\"}\n")
        let csv = try file("reviews.csv", "text,label\n上海,1\n")
        let corpus = try VocabularyCorpus(paths: [jsonl, csv])
        XCTAssertEqual(corpus.items, [.words(["张", "京"]), .text("海海"), .text("上海")])
        let summary = try extend([jsonl, csv])
        XCTAssertEqual(summary.characters.map(\.token), ["海", "京", "上"])
        XCTAssertEqual(summary.characters.map(\.count), [3, 1, 1])

        // Words: pre-segmented text; 北京 twice becomes an added token after the characters.
        let segmented = try file("segmented.txt", "北京 在 上海\n北京 在 张\n")
        let words = try extend([segmented], minCount: 2, words: true, output: "words")
        XCTAssertEqual(words.characters.map(\.token), ["京"])
        XCTAssertEqual(words.words.map(\.token), ["北京"])
        let tokenizer = try BertTokenizer.load(modelDirectory: directory.appendingPathComponent("words"))
        XCTAssertEqual(tokenizer.vocabularySize, Self.V + 2)
        XCTAssertEqual(tokenizer.encode("北京在京").inputIds, [2, Int32(Self.V + 1), 7, Int32(Self.V), 3])
    }

    func testErrorsNameTheProblem() throws {
        func message(_ body: () throws -> Any) -> String {
            do {
                _ = try body()
                return "no error"
            } catch { return "\(error)" }
        }
        let missing = directory.appendingPathComponent("none.txt").path
        XCTAssertEqual(message { try VocabularyCorpus(paths: [missing]) }, "corpus \(missing): no such file")
        let empty = try file("empty.txt", "")
        XCTAssertEqual(message { try VocabularyCorpus(paths: [empty]) }, "corpus \(empty): is empty")
        let blank = try file("blank.txt", "\n  \n")
        XCTAssertEqual(message { try VocabularyCorpus(paths: [blank]) }, "corpus \(blank): holds no text")
        let badJSON = try file("bad.jsonl", "{\"text\": \"a\"}\n{\"tokens\": 3}\n")
        XCTAssertTrue(message { try VocabularyCorpus(paths: [badJSON]) }.contains("line 2: \"tokens\" must be a list"))
        let known = try file("known.txt", "张在 run\n")
        XCTAssertTrue(message { try self.extend([known]) }.hasPrefix("nothing to add: every character"), message { try self.extend([known]) })
        let rare = try file("rare.txt", "京\n")
        XCTAssertTrue(message { try self.extend([rare], minCount: 2) }.contains("--min-count"))
        _ = try extend([rare])
        let out = directory.appendingPathComponent("out").path
        XCTAssertEqual(message { try self.extend([rare]) }, "output directory \(out) already exists (give --force to replace it)")
        XCTAssertEqual(try extend([rare], force: true).characters.count, 1)
        try FileManager.default.removeItem(at: model.appendingPathComponent("vocab.txt"))
        XCTAssertTrue(message { try self.extend([rare], output: "other") }.contains("has no vocab.txt"))
    }

    /// LoRA on an extended directory: `word_embeddings` joins `modules_to_save`, the new rows train
    /// and are saved with the adapter (PEFT's names), and the adapter applied to the extended base
    /// gives the exported merged model exactly.
    func testLoRATrainsTheNewRows() throws {
        var lines: [String] = []
        for i in 0..<24 {
            let tokens = [["张", "在", "北", "京"], ["张", "在", "上", "海"]][i % 2]
            let record: [String: Any] = ["tokens": tokens, "tags": ["B-PER", "O", "B-LOC", "I-LOC"]]
            lines.append(String(data: try JSONSerialization.data(withJSONObject: record), encoding: .utf8)!)
        }
        let data = try file("ner.jsonl", lines.joined(separator: "\n") + "\n")
        _ = try extend([data])
        let out = directory.appendingPathComponent("out")
        var c = TrainingConfiguration()
        c.task = .tokenClassification
        c.modelDir = out.path
        c.trainFile = data
        c.outputDir = directory.appendingPathComponent("run").path
        c.perDeviceTrainBatchSize = 4
        c.learningRate = 5e-3
        c.numTrainEpochs = 1
        c.saveStrategy = .no
        c.evalStrategy = .no
        c.peft = .lora
        XCTAssertEqual(c.loraConfiguration?.modulesToSave, ["classifier", "word_embeddings"])
        try TrainingRun(configuration: c).run()

        let adapterDirectory = directory.appendingPathComponent("run/adapter")
        let saved = try SafeTensorsFile(path: adapterDirectory.appendingPathComponent(PEFTAdapter.weightsFile).path)
        let embedding = try saved.floats("base_model.model.bert.embeddings.word_embeddings.weight")
        XCTAssertEqual(embedding.count, (Self.V + 3) * 32)
        let start = try SafeTensorsFile(path: out.appendingPathComponent("model.safetensors").path).floats("embeddings.word_embeddings.weight")
        for row in Self.V..<(Self.V + 3) {
            let moved = (0..<32).map { abs(embedding[row * 32 + $0] - start[row * 32 + $0]) }.max()!
            XCTAssertGreaterThan(moved, 1e-4, "new row \(row) trained")
        }
        let config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: adapterDirectory.appendingPathComponent(PEFTAdapter.configFile)))
                as? [String: Any])
        XCTAssertEqual(config["modules_to_save"] as? [String], ["classifier", "word_embeddings"])
        XCTAssertEqual(config["base_model_name_or_path"] as? String, out.path)

        // Round trip: the extended base + the adapter, merged, is the exported model tensor for tensor.
        let adapter = try PEFTAdapter.read(directory: adapterDirectory)
        let labels = try XCTUnwrap(try HuggingFaceExport.labels(modelDirectory: directory.appendingPathComponent("run/model")))
        let rebuilt = try ModelRegistry.load(modelDirectory: out, numLabels: labels.count, head: .tokenClassification, peft: adapter.setup)
        try adapter.apply(to: rebuilt, source: adapterDirectory.path)
        rebuilt.peft?.loraBranches?.merge()
        let exported = try SafeTensorsFile(path: directory.appendingPathComponent("run/model/model.safetensors").path)
        let merged = try XCTUnwrap(rebuilt as? EncoderModel)
        var compared = 0
        for view in merged.store.views where !PEFTModules.isAdapterTensor(view.name) {
            let name = exported.contains(view.name) ? view.name : "bert." + view.name
            guard exported.contains(name) else { continue }
            let values = Array(UnsafeBufferPointer(start: merged.store.value(view.name), count: view.count))
            XCTAssertEqual(values, try exported.floats(name), name)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 20)
    }
}
