import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// all-MiniLM-L6-v2, the real pretrained model (fetched by scripts/fetch_assets.sh), against
/// Hugging Face: ids and mean-pooled, normalised embeddings of a few dozen varied sentences
/// (fixture written by scripts/reference/make_real_model_fixture.py).
///
/// Tolerance on embeddings: `atol 2e-6` per component of a unit vector (6 layers of fp32 with a
/// different summation order than PyTorch).
final class RealModelTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let text: String
            let ids: [Int32]
            let embedding: [Float]
        }
        let cases: [Case]
    }

    func testAssetsReferenceSentence() throws {
        let directory = try TestAssets.realModelDirectory()
        let tokenizer = try BertTokenizer.load(modelDirectory: directory)
        let encoding = tokenizer.encode("A man is eating food.")
        XCTAssertEqual(encoding.inputIds, [101, 1037, 2158, 2003, 5983, 2833, 1012, 102])
        let model = try EncoderModel.load(modelDirectory: directory)
        XCTAssertEqual(model.store.count, 22_713_728 - 512, "the file's parameters less the I64 position_ids buffer")
        let embedding = try embed(model, tokenizer.padBatch([encoding]))
        assertClose(
            Array(embedding[0..<5]), [0.03324, 0.00441, -0.00628, 0.04838, -0.1387], atol: 6e-6, rtol: 0,
            "embedding of \"A man is eating food.\"")
    }

    func testSentencesMatchHuggingFace() throws {
        let directory = try TestAssets.realModelDirectory()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "minilm_sentences", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 30)
        let tokenizer = try BertTokenizer.load(modelDirectory: directory)
        let model = try EncoderModel.load(modelDirectory: directory)
        let encodings = fixture.cases.map { tokenizer.encode($0.text) }
        for (encoding, expected) in zip(encodings, fixture.cases) {
            XCTAssertEqual(encoding.inputIds, expected.ids, "ids of \(expected.text.debugDescription)")
        }
        // One padded batch, as sentence-transformers runs it: padding must not change any row.
        let embeddings = try embed(model, tokenizer.padBatch(encodings))
        let C = model.config.hiddenSize
        for (row, expected) in fixture.cases.enumerated() {
            assertClose(
                Array(embeddings[(row * C)..<((row + 1) * C)]), expected.embedding, atol: 2e-6, rtol: 0,
                "embedding of \(expected.text.debugDescription)")
        }
    }

    private func embed(
        _ model: EncoderModel,
        _ batch: (inputIds: [Int32], tokenTypeIds: [Int32], attentionMask: [Int32], sequenceLength: Int)
    ) throws -> [Float] {
        let T = batch.sequenceLength, B = batch.inputIds.count / T, C = model.config.hiddenSize
        let out = try model.forward(
            inputIds: batch.inputIds, tokenTypeIds: batch.tokenTypeIds,
            attentionMask: batch.attentionMask, batch: B, sequence: T, training: false)
        var pooled = [Float](repeating: 0, count: B * C)
        SentencePooling.mean.pool(
            output: &pooled, lastHidden: out.lastHiddenState, attentionMask: batch.attentionMask,
            batch: B, sequence: T, channels: C, normalize: true)
        return pooled
    }
}
