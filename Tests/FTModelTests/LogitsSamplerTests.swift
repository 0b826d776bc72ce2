import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

/// The sampler against Hugging Face's warpers (`scripts/reference/make_sampler_reference.py`), its
/// seed reproducibility and greedy decoding; the decoding loop and streaming over a stand-in model.
final class LogitsSamplerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let temperature: Float
            let top_k: Int
            let top_p: Float
            let kept: [Int32]
            let probabilities: [Float]
        }
        let logits: [Float]
        let cases: [Case]
    }

    func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "sampler_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testKeptSetsAndProbabilitiesEqualHuggingFaceWarpers() throws {
        let f = try fixture()
        for c in f.cases {
            var sampler = LogitsSampler(
                settings: SamplingSettings(doSample: true, temperature: c.temperature, topK: c.top_k, topP: c.top_p))
            let distribution = sampler.distribution(f.logits, count: f.logits.count)
            let name = "T \(c.temperature) top_k \(c.top_k) top_p \(c.top_p)"
            XCTAssertEqual(Set(distribution.map(\.token)), Set(c.kept), name)
            var probabilities = [Float](repeating: 0, count: f.logits.count)
            for (token, p) in distribution { probabilities[Int(token)] = p }
            assertClose(probabilities, c.probabilities, atol: 1e-6, rtol: 1e-4, name)
            // Sampling draws only kept tokens.
            for _ in 0..<200 { XCTAssertTrue(c.kept.contains(sampler.next(f.logits, count: f.logits.count)), name) }
        }
    }

    func testSameSeedSameTokensAndFrequenciesFollowTheDistribution() throws {
        let f = try fixture()
        let settings = SamplingSettings(doSample: true, temperature: 1, topK: 0, topP: 0.9, seed: 1234)
        var a = LogitsSampler(settings: settings), b = LogitsSampler(settings: settings)
        let drawsA = (0..<500).map { _ in a.next(f.logits, count: f.logits.count) }
        let drawsB = (0..<500).map { _ in b.next(f.logits, count: f.logits.count) }
        XCTAssertEqual(drawsA, drawsB)
        var other = LogitsSampler(settings: SamplingSettings(doSample: true, temperature: 1, topK: 0, topP: 0.9, seed: 99))
        XCTAssertNotEqual(drawsA, (0..<500).map { _ in other.next(f.logits, count: f.logits.count) })
        // Frequencies over 20000 draws are within 4 standard errors of the probabilities.
        let reference = try XCTUnwrap(f.cases.first { $0.top_k == 0 && $0.top_p == 0.9 && $0.temperature == 1 })
        var counts = [Int](repeating: 0, count: f.logits.count)
        let n = 20000
        for _ in 0..<n { counts[Int(a.next(f.logits, count: f.logits.count))] += 1 }
        for (token, p) in reference.probabilities.enumerated() {
            let frequency = Double(counts[token]) / Double(n)
            let standardError = (Double(p) * (1 - Double(p)) / Double(n)).squareRoot()
            XCTAssertEqual(frequency, Double(p), accuracy: 4 * standardError + 1e-9, "token \(token)")
        }
    }

    func testGreedyAndTemperatureZeroAreArgmax() throws {
        let f = try fixture()
        let best = Int32(f.logits.indices.max { f.logits[$0] < f.logits[$1] }!)
        for settings in [SamplingSettings(doSample: false, topK: 3, topP: 0.1), SamplingSettings(doSample: true, temperature: 0)] {
            var sampler = LogitsSampler(settings: settings)
            for _ in 0..<5 { XCTAssertEqual(sampler.next(f.logits, count: f.logits.count), best) }
        }
        XCTAssertEqual(LogitsSampler.argmax([1, 3, 3, 2], count: 4), 1, "first index of the maximum")
        XCTAssertThrowsError(try SamplingSettings(doSample: true, topP: 0).validate())
        XCTAssertThrowsError(try SamplingSettings(doSample: true, temperature: -1).validate())
        XCTAssertThrowsError(try SamplingSettings(doSample: true, topK: -1).validate())
    }

    /// The decoding loop over a stand-in model whose next token is fixed per position: stops at
    /// EOS or `maxNewTokens`, streams complete UTF-8 only.
    func testDecodingStopsAndStreamsCompleteCharacters() throws {
        let tokenizer = ByteTestTokenizer()
        let V = tokenizer.vocabularySize
        // "é" is two bytes (0xC3 0xA9): the streamer must hold the first until the second arrives.
        let script: [Int32] = Array("aé!".utf8).map(Int32.init) + [ByteTestTokenizer.imEnd, 65, 66]
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: V)
        defer { logits.deallocate() }
        var position = 0
        var runs: [[Int32]] = []
        func run(_ maxNewTokens: Int) throws -> (TextGenerator.Output, [String]) {
            position = 0
            runs = []
            var pieces: [String] = []
            var sampler = LogitsSampler(settings: SamplingSettings())
            let output = try TextGenerator.decode(
                promptIds: [1, 2, 3], maxNewTokens: maxNewTokens, stopTokens: TextGenerator.stopTokens(of: tokenizer),
                tokenizer: tokenizer, sampler: &sampler, onText: { pieces.append($0) }
            ) { tokens in
                runs.append(tokens)
                for j in 0..<V { logits[j] = 0 }
                logits[Int(script[position])] = 5
                position += 1
                return (UnsafePointer(logits), V)
            }
            return (output, pieces)
        }
        let (stopped, pieces) = try run(10)
        XCTAssertTrue(stopped.stopped)
        XCTAssertEqual(stopped.text, "aé!")
        XCTAssertEqual(stopped.tokens.count, 4)
        XCTAssertEqual(pieces, ["a", "é", "!"])
        XCTAssertEqual(runs.first, [1, 2, 3], "prefill runs the prompt once")
        XCTAssertTrue(runs.dropFirst().allSatisfy { $0.count == 1 }, "decode runs one token at a time")
        let (cut, _) = try run(2)
        XCTAssertFalse(cut.stopped)
        XCTAssertEqual(cut.tokens, [97, 0xC3])
        XCTAssertEqual(runs.count, 2, "no forward after the last token")
        XCTAssertEqual(TextGenerator.stopTokens(of: tokenizer), [ByteTestTokenizer.imEnd, ByteTestTokenizer.endOfText])
    }
}
