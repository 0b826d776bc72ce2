import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// Greedy generation with the real SmolLM2-135M-Instruct GGUF equals transformers'
/// (`scripts/reference/make_smollm2_generate_reference.py`): the chat prompt, its ids and every
/// generated id, through `CausalModelLoading` and `TextGenerator` as `fttrain generate` uses them.
final class CausalLMGenerationTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let question: String
            let prompt: String
            let prompt_ids: [Int32]
            let max_new_tokens: Int
            let generated_ids: [Int32]
            let generated: String
        }
        let cases: [Case]
    }

    static func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "smollm2_greedy", withExtension: "json", subdirectory: "Fixtures/causal_lm"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testGreedyGenerationEqualsTransformers() throws {
        let gguf = try TestAssets.requireSmolLM2GGUF()
        let loaded = try CausalModelLoading.load(path: gguf.path)
        let generator = TextGenerator(model: loaded.model, tokenizer: loaded.tokenizer)
        XCTAssertTrue(generator.stopTokens.contains(loaded.tokenizer.eosTokenId))
        for c in try Self.fixture().cases {
            let prompt = try loaded.tokenizer.applyChatTemplate([ChatMessage(role: "user", content: c.question)], addGenerationPrompt: true)
            XCTAssertEqual(prompt, c.prompt)
            XCTAssertEqual(loaded.tokenizer.encode(prompt), c.prompt_ids)
            var sampler = LogitsSampler(settings: SamplingSettings())
            var streamed = ""
            let output = try generator.generate(prompt: prompt, maxNewTokens: c.max_new_tokens, sampler: &sampler) { streamed += $0 }
            XCTAssertEqual(output.tokens, c.generated_ids, c.question)
            XCTAssertEqual(output.text, c.generated)
            XCTAssertEqual(streamed, c.generated, "the streamed pieces make the text")
        }
    }
}
