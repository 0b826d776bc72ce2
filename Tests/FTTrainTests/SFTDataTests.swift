import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// The SFT data reader, tokenization with prompt masking, truncation, padding and packing, over
/// a byte-level test tokenizer (one id per UTF-8 byte, ChatML specials).
final class SFTDataTests: XCTestCase {
    let tokenizer = ByteTestTokenizer()
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sft-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func bytes(_ s: String) -> [Int32] { s.utf8.map(Int32.init) }

    func testPromptCompletionMasksThePromptAndAppendsEOS() throws {
        let path = try write("pc.jsonl", #"{"prompt": "Q: 2+2?\nA:", "completion": " 4"}"# + "\n")
        let (examples, _) = try SFTData.read(path, options: SFTDataOptions(), tokenizer: tokenizer)
        XCTAssertEqual(examples.count, 1)
        let row = SFTEncoding.tokenize(examples[0], tokenizer: tokenizer)
        let prompt = bytes("Q: 2+2?\nA:")
        XCTAssertEqual(row.ids, prompt + bytes(" 4") + [ByteTestTokenizer.imEnd])
        XCTAssertEqual(row.labels, prompt.map { _ in -100 } + bytes(" 4") + [ByteTestTokenizer.imEnd])
        XCTAssertEqual(row.promptLength, prompt.count)
        // completion_only_loss false: every token is a target.
        var options = SFTDataOptions()
        options.completionOnlyLoss = false
        let all = SFTEncoding.tokenize(try SFTData.read(path, options: options, tokenizer: tokenizer).examples[0], tokenizer: tokenizer)
        XCTAssertEqual(all.labels, all.ids)
        // BOS first (never a target) when the tokenizer adds one.
        let withBOS = SFTEncoding.tokenize(examples[0], tokenizer: ByteTestTokenizer(addsBOS: true))
        XCTAssertEqual(withBOS.ids, [ByteTestTokenizer.endOfText] + row.ids)
        XCTAssertEqual(withBOS.labels, [-100] + row.labels)
    }

    func testMessagesTrainOnAssistantTurnsOnly() throws {
        let line =
            #"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Ciao"}]}"#
        let path = try write("chat.jsonl", line + "\n")
        let example = try SFTData.read(path, options: SFTDataOptions(), tokenizer: tokenizer).examples[0]
        XCTAssertEqual(example.completion, "Ciao")
        XCTAssertEqual(
            example.prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"
        )
        XCTAssertFalse(example.appendsEOS, "the template ends the turn")
        XCTAssertEqual(example.segments.filter(\.trained).map(\.text), ["Hello<|im_end|>\n", "Ciao<|im_end|>\n"])
        let row = SFTEncoding.tokenize(example, tokenizer: tokenizer)
        let full = try tokenizer.applyChatTemplate(
            [
                .init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi"), .init(role: "assistant", content: "Hello"),
                .init(role: "user", content: "Bye"), .init(role: "assistant", content: "Ciao"),
            ], addGenerationPrompt: false)
        XCTAssertEqual(row.ids, tokenizer.encode(full))
        let targets = row.ids.indices.filter { row.labels[$0] != -100 }.map { row.ids[$0] }
        XCTAssertEqual(targets, tokenizer.encode("Hello<|im_end|>\nCiao<|im_end|>\n"))
        XCTAssertEqual(row.promptLength, tokenizer.encode(example.prompt).count)
    }

    func testTextRowsTrainOnEveryToken() throws {
        let path = try write("text.jsonl", #"{"text": "abc"}"# + "\n")
        let row = SFTEncoding.tokenize(try SFTData.read(path, options: SFTDataOptions(), tokenizer: tokenizer).examples[0], tokenizer: tokenizer)
        XCTAssertEqual(row.ids, bytes("abc") + [ByteTestTokenizer.imEnd])
        XCTAssertEqual(row.labels, row.ids)
        XCTAssertEqual(row.promptLength, 0)
    }

    func testBadRowsAreReportedWithFileAndLine() throws {
        let rows = [
            #"{"prompt": "a", "completion": ""}"#,
            #"{"messages": [{"role": "user", "content": "x"}]}"#,
            #"{"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}"#,
            #"{"prompt": "a"}"#,
            #"{"foo": 1}"#,
            #"{"text": "fine"}"#,
            #"not json"#,
        ]
        let path = try write("bad.jsonl", rows.joined(separator: "\n") + "\n")
        XCTAssertThrowsError(try SFTData.read(path, options: SFTDataOptions(), tokenizer: tokenizer)) { error in
            guard case DataError.badRows(let bad) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(bad.map(\.location.line), [1, 2, 3, 4, 5, 7])
            let text = bad.map(\.description).joined(separator: "\n")
            for needle in [
                "bad.jsonl:1: empty \"completion\"", "do not end with an assistant turn", "role \"robot\"", "no \"completion\" key",
                "expected \"messages\"", "invalid JSON",
            ] {
                XCTAssertTrue(text.contains(needle), "missing \(needle) in\n\(text)")
            }
        }
        var options = SFTDataOptions()
        options.read.skipBadRows = true
        let (examples, skipped) = try SFTData.read(path, options: options, tokenizer: tokenizer)
        XCTAssertEqual(examples.map(\.completion), ["fine"])
        XCTAssertEqual(skipped.count, 6)
        XCTAssertThrowsError(try SFTData.read(try write("x.csv", "text,label\na,b\n"), options: SFTDataOptions(), tokenizer: tokenizer)) {
            XCTAssertTrue("\($0)".contains("prompt_template"), "\($0)")
        }
    }

    func testLabelledCSVThroughTemplates() throws {
        let path = try write("reviews.csv", "text,label\nGreat film,fresh\nDull,rotten\n")
        var options = SFTDataOptions()
        options.promptTemplate = "Review: {text}\nVerdict:"
        options.completionTemplate = " {label}"
        let examples = try SFTData.read(path, options: options, tokenizer: tokenizer).examples
        XCTAssertEqual(examples.map(\.prompt), ["Review: Great film\nVerdict:", "Review: Dull\nVerdict:"])
        XCTAssertEqual(examples.map(\.completion), [" fresh", " rotten"])
        XCTAssertEqual(examples.map(\.label), ["fresh", "rotten"])
        XCTAssertEqual(examples[1].location.line, 3)
        options.chatTemplate = true
        let chat = try SFTData.read(path, options: options, tokenizer: tokenizer).examples
        XCTAssertEqual(chat[0].prompt, "<|im_start|>user\nReview: Great film\nVerdict:<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(chat[0].label, "fresh")
        XCTAssertEqual(SFTData.fill("{text} {label} {other} {", ["text": "{label}", "label": "L"]), "{label} L {other} {")
    }

    func testTruncationDropsExamplesWithoutTargetsAndPaddingMasksLabels() throws {
        let long = SFTExample(
            segments: [.init("0123456789", trained: false), .init("ab", trained: true)], appendsEOS: true,
            prompt: "0123456789", completion: "ab", location: SourceLocation(file: "f", line: 1))
        let short = SFTExample(
            segments: [.init("x", trained: false), .init("yz", trained: true)], appendsEOS: true,
            prompt: "x", completion: "yz", location: SourceLocation(file: "f", line: 2))
        let encoding = SFTEncoding(examples: [long, short], tokenizer: tokenizer, maxLength: 8)
        XCTAssertEqual(encoding.droppedByTruncation, [SourceLocation(file: "f", line: 1)])
        XCTAssertEqual(encoding.rows.count, 1)
        let kept = SFTEncoding(examples: [long], tokenizer: tokenizer, maxLength: 11)
        XCTAssertEqual(kept.rows.first?.ids.count, 11)
        XCTAssertEqual(kept.truncated, 1)

        let rows = SFTEncoding(examples: [short, long], tokenizer: tokenizer, maxLength: 64).rows
        let dataset = EncodedDataset(
            encodings: rows.map { CausalLanguageModelingTask.encoding($0.ids) }, tokenLabels: rows.map(\.labels),
            texts: ["x", "0123456789"], pairs: ["yz", "ab"])
        var batch = PaddedBatch()
        batch.fill(from: dataset, indices: [0, 1], padTokenId: 999)
        let T = batch.sequenceLength
        XCTAssertEqual(T, 13)
        XCTAssertEqual(batch.labels.count, 2 * T)
        XCTAssertEqual(Array(batch.inputIds[4..<T]), Array(repeating: 999, count: T - 4))
        XCTAssertEqual(Array(batch.labels[4..<T]), Array(repeating: -100, count: T - 4))
        XCTAssertEqual(Array(batch.attentionMask[0..<T]), Array(repeating: 1, count: 4) + Array(repeating: 0, count: T - 4))
        XCTAssertEqual(Array(batch.labels[0..<4]), [-100] + bytes("yz") + [ByteTestTokenizer.imEnd])
    }

    func testPackingConcatenatesIntoFullRows() throws {
        let rows = (0..<5).map { i in
            SFTEncoding.Row(
                ids: Array(repeating: Int32(i), count: 3 + i), labels: Array(repeating: Int32(-100), count: 3 + i), promptLength: 0, example: i)
        }
        let packed = SFTEncoding.pack(rows, maxLength: 8)
        XCTAssertEqual(packed.map(\.ids.count), [8, 8, 8, 1])
        XCTAssertEqual(packed.flatMap(\.ids), rows.flatMap(\.ids))
        XCTAssertEqual(packed.flatMap(\.labels), rows.flatMap(\.labels))
    }

    func testTaskSplitsEncodesAndScoresAnswers() throws {
        let lines = (0..<20).map { #"{"prompt": "p\#($0)", "completion": "c\#($0)"}"# }
        let path = try write("train.jsonl", lines.joined(separator: "\n") + "\n")
        var options = CausalLanguageModelingTask.Options()
        options.maxLength = 16
        let task = try CausalLanguageModelingTask(trainPath: path, options: options, tokenizer: tokenizer, vocabularySize: 259)
        XCTAssertEqual(task.train.count + task.validation.count + task.test.count, 20)
        XCTAssertEqual(task.validation.count, 2)
        XCTAssertTrue(task.labels.isEmpty)
        XCTAssertTrue(task.train.hasTokenLabels)
        options.packing = true
        let packed = try CausalLanguageModelingTask(trainPath: path, options: options, tokenizer: tokenizer, vocabularySize: 259)
        XCTAssertTrue(packed.train.encodings.dropLast().allSatisfy { $0.count == 16 })
        XCTAssertEqual(packed.validation.count, 2, "evaluation splits stay unpacked")

        XCTAssertEqual(CausalLMEvaluation.normalize("  Fresh.\n"), "fresh")
        // SQuAD's normalize_answer: punctuation anywhere, articles, runs of whitespace.
        XCTAssertEqual(CausalLMEvaluation.normalize("The  plot-twist, a RotTen one!"), "plottwist rotten one")
        XCTAssertEqual(CausalLMEvaluation.normalize("theater"), "theater")
        let dataset = EncodedDataset(
            encodings: Array(repeating: CausalLanguageModelingTask.encoding([1, 2]), count: 4),
            tokenLabels: Array(repeating: [-100, 2], count: 4), texts: ["a", "b", "c", "d"], pairs: [" fresh", " rotten", " fresh", nil])
        let scores = try CausalLMEvaluation.score(
            generations: ["Fresh!", "fresh", "banana", nil], dataset: dataset, answerLabels: ["fresh", "rotten"], completionTemplate: " {label}")
        XCTAssertEqual(scores.rows.count, 3)
        XCTAssertEqual(scores.exactMatch, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(scores.answersNotALabel, 1)
        let metrics = scores.metrics(prefix: "eval_")
        XCTAssertEqual(try XCTUnwrap(metrics["eval_accuracy"]), 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(metrics["eval_answers_not_a_label"], 1)
        // sklearn with labels=[fresh, rotten]: fresh has tp 1 (row 0), fn 1 (row 2 answered "banana"),
        // fp 1 (row 1); rotten tp 0: the macro F1 is (0.5 + 0) / 2, the no-label answers no class of their own.
        XCTAssertEqual(try XCTUnwrap(metrics["eval_f1_macro"]), 0.25, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(metrics["eval_recall_macro"]), 0.25, accuracy: 1e-12)
        XCTAssertNil(metrics["eval_f1_(no label)"])
    }

    func testRepeatedExamplesAreDroppedWhenDeduplicating() throws {
        let lines = (0..<10).map { #"{"prompt": "p\#($0 % 4)", "completion": "c"}"# }
        let path = try write("repeats.jsonl", lines.joined(separator: "\n") + "\n")
        var options = CausalLanguageModelingTask.Options()
        options.splitRatios = [1, 0, 0]
        let task = try CausalLanguageModelingTask(trainPath: path, options: options, tokenizer: tokenizer, vocabularySize: 259)
        XCTAssertEqual(task.train.count, 4)
        XCTAssertTrue(task.logLines.contains { $0.contains("6 repeated examples dropped") }, "\(task.logLines)")
        options.deduplicate = false
        XCTAssertEqual(try CausalLanguageModelingTask(trainPath: path, options: options, tokenizer: tokenizer, vocabularySize: 259).train.count, 10)
    }

    func testExampleSFTConfigLoadsAndValidates() throws {
        let path = TestAssets.packageRoot.appendingPathComponent("examples/smollm2_rotten_tomatoes_sft.yaml").path
        let c = try TrainingConfiguration.load(path: path)
        XCTAssertEqual(c.validationProblems().map(\.message), [])
        XCTAssertEqual(c.task, .causalLM)
        XCTAssertTrue(c.chatTemplate && c.predictWithGenerate && c.completionOnlyLoss)
        XCTAssertEqual(c.promptTemplate, "Review: {text}\nIs this review fresh, rotten or plot? Answer with one word.")
        XCTAssertEqual(c.generationMaxNewTokens, 4)
        XCTAssertTrue(CausalModelLoading.isCausalModel(path: try XCTUnwrap(c.modelDir)))
    }
}
