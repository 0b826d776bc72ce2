import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// examples/smollm2_rotten_tomatoes_sft.yaml gives fttrain the very ids and labels that
/// scripts/anchors/torch_sft.py trains transformers + PEFT on (the fixture of
/// scripts/reference/make_smollm2_sft_ids_reference.py): the user turn from the prompt template,
/// SmolLM2's chat template with its default system turn and generation prompt, the label followed
/// by the template's turn end `<|im_end|>\n`, −100 over the prompt. So the two sides of
/// scripts/instruct_rotten_tomatoes.sh train on the same tokens.
final class SFTTokenParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let text: String, label: String
            let input_ids: [Int32], labels: [Int32]
        }
        let turn_end: String, csv: String
        let cases: [Case]
    }

    func testTheExampleConfigEncodesRowsAsTorchSFTDoes() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "smollm2_sft_ids", withExtension: "json", subdirectory: "Fixtures/causal_lm"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.turn_end, "<|im_end|>\n")
        let gguf = try TestAssets.requireSmolLM2GGUF()
        let tokenizer = try ByteLevelBPETokenizer(gguf: GGUFFile(url: gguf))
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("sft-parity-\(UUID().uuidString).csv")
        try fixture.csv.write(to: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: csv) }

        let config = try TrainingConfiguration.load(
            path: TestAssets.packageRoot.appendingPathComponent("examples/smollm2_rotten_tomatoes_sft.yaml").path)
        // The options `fttrain train` derives from the file, through the trainer's own code path.
        let options = CausalLanguageModelingTask.Options(configuration: config, maxSequenceLength: 8192)
        let (examples, skipped) = try SFTData.read(csv.path, options: options.data, tokenizer: tokenizer)
        XCTAssertTrue(skipped.isEmpty)
        XCTAssertEqual(examples.count, fixture.cases.count)
        let rows = SFTEncoding(examples: examples, tokenizer: tokenizer, maxLength: options.maxLength).rows
        XCTAssertEqual(rows.count, fixture.cases.count)
        for (row, expected) in zip(rows, fixture.cases) {
            XCTAssertEqual(row.ids, expected.input_ids, "input ids of \(expected.text)")
            XCTAssertEqual(row.labels, expected.labels, "labels of \(expected.text)")
        }
    }
}
