import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// Extractive QA's data path against Hugging Face, on the committed cases of
/// scripts/reference/make_squad_fixture.py (Fixtures/qa): run_qa's windows (ids, token types,
/// context offsets, start/end positions) from the fast tokenizer at three max_length/doc_stride
/// settings; utils_qa's answer decoding on seeded float32 logits (v1 and v2, n-best and answer
/// length varied): the texts equal and the v2 score differences within 1e-6; the official SQuAD
/// v1.1/v2.0 scripts' exact match and F1 per case and in total within 1e-12.
final class QuestionAnsweringFixtureTests: XCTestCase {
    static func fixtureDirectory() throws -> URL {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "squad_cases", withExtension: "json", subdirectory: "Fixtures/qa"))
        return url.deletingLastPathComponent()
    }

    static func cases() throws -> [String: Any] {
        let data = try Data(contentsOf: try fixtureDirectory().appendingPathComponent("squad_cases.json"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["format_version"] as? Int, 1, "fixture format changed: update the test")
        return object
    }

    static func examples(_ cases: [String: Any]) throws -> [SquadExample] {
        try XCTUnwrap(cases["examples"] as? [[String: Any]]).enumerated().map { k, row in
            try SquadData.flat(row, location: SourceLocation(file: "squad_cases.json", line: k + 1))
        }
    }

    static func offsets(_ raw: [Any]) -> [Range<Int>?] {
        raw.map { ($0 as? [Int]).map { $0[0]..<$0[1] } }
    }

    func testWindowsEqualRunQA() throws {
        let cases = try Self.cases()
        let tokenizer = try BertTokenizer.load(modelDirectory: try Self.fixtureDirectory())
        let examples = try Self.examples(cases)
        var checked = 0
        for setting in try XCTUnwrap(cases["features"] as? [[String: Any]]) {
            let maxLength = try XCTUnwrap(setting["max_seq_length"] as? Int), stride = try XCTUnwrap(setting["doc_stride"] as? Int)
            let expected = try XCTUnwrap(setting["features"] as? [[String: Any]])
            let features = try QuestionAnsweringFeatures.make(examples, tokenizer: tokenizer, maxLength: maxLength, docStride: stride)
            XCTAssertEqual(features.count, expected.count, "windows at max_length \(maxLength), stride \(stride)")
            for (k, (mine, theirs)) in zip(features, expected).enumerated() {
                let at = "feature \(k) at max_length \(maxLength), stride \(stride)"
                XCTAssertEqual(mine.example, theirs["example"] as? Int, at)
                XCTAssertEqual(mine.encoding.inputIds, (theirs["input_ids"] as? [Int])?.map(Int32.init), at)
                XCTAssertEqual(mine.encoding.tokenTypeIds, (theirs["token_type_ids"] as? [Int])?.map(Int32.init), at)
                XCTAssertEqual(mine.offsets, Self.offsets(try XCTUnwrap(theirs["offsets"] as? [Any])), at)
                XCTAssertEqual(mine.startPosition, theirs["start_position"] as? Int, at)
                XCTAssertEqual(mine.endPosition, theirs["end_position"] as? Int, at)
                checked += 1
            }
            XCTAssertTrue(expected.contains { ($0["start_position"] as? Int) != 0 }, "some windows hold their answer")
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testAnswerDecodingEqualsUtilsQA() throws {
        let cases = try Self.cases()
        let examples = try Self.examples(cases)
        let settings = try XCTUnwrap(cases["features"] as? [[String: Any]])
        var checked = 0
        for post in try XCTUnwrap(cases["postprocess"] as? [[String: Any]]) {
            let features = try XCTUnwrap(settings[try XCTUnwrap(post["features"] as? Int)]["features"] as? [[String: Any]])
            let starts = try XCTUnwrap(post["start_logits"] as? [[Double]]).map { $0.map(Float.init) }
            let ends = try XCTUnwrap(post["end_logits"] as? [[Double]]).map { $0.map(Float.init) }
            for run in try XCTUnwrap(post["runs"] as? [[String: Any]]) {
                let decoding = AnswerDecoding(
                    nBestSize: try XCTUnwrap(run["n_best_size"] as? Int), maxAnswerLength: try XCTUnwrap(run["max_answer_length"] as? Int),
                    versionTwoWithNegative: try XCTUnwrap(run["version_2_with_negative"] as? Bool),
                    nullScoreDifferenceThreshold: Float(try XCTUnwrap(run["null_score_diff_threshold"] as? Double)))
                let predictions = try XCTUnwrap(run["predictions"] as? [String: String])
                let differences = run["score_diff"] as? [String: Double] ?? [:]
                for (e, example) in examples.enumerated() {
                    let windows = features.indices.filter { features[$0]["example"] as? Int == e }.map { k in
                        (offsets: Self.offsets(features[k]["offsets"] as! [Any]), startLogits: starts[k], endLogits: ends[k])
                    }
                    let answer = decoding.decode(context: example.context, windows: windows)
                    XCTAssertEqual(answer.text, predictions[example.id], "\(example.id) with \(decoding)")
                    if decoding.versionTwoWithNegative {
                        XCTAssertEqual(Double(try XCTUnwrap(answer.scoreDifference)), try XCTUnwrap(differences[example.id]), accuracy: 1e-6)
                    }
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 8 * 9)
    }

    func testMetricsEqualTheOfficialScripts() throws {
        let metrics = try XCTUnwrap(try Self.cases()["metrics"] as? [String: Any])
        let cases = try XCTUnwrap(metrics["cases"] as? [[String: Any]])
        for c in cases {
            let prediction = try XCTUnwrap(c["prediction"] as? String), golds = try XCTUnwrap(c["answers"] as? [String])
            XCTAssertEqual(SquadMetrics.normalize(prediction), c["normalized"] as? String, prediction)
            if let exact = c["v1_exact"] as? Double, let f1 = c["v1_f1"] as? Double {
                XCTAssertEqual(golds.map { SquadMetrics.exactMatch(prediction, $0) }.max()!, exact, accuracy: 1e-12, prediction)
                XCTAssertEqual(golds.map { SquadMetrics.f1(prediction, $0) }.max()!, f1, accuracy: 1e-12, prediction)
            }
            let one = SquadMetrics.v2(predictions: [prediction], answers: [golds])
            XCTAssertEqual(try XCTUnwrap(one["exact"]), 100 * (try XCTUnwrap(c["v2_exact"] as? Double)), accuracy: 1e-12, prediction)
            XCTAssertEqual(try XCTUnwrap(one["f1"]), 100 * (try XCTUnwrap(c["v2_f1"] as? Double)), accuracy: 1e-12, prediction)
        }
        let answered = cases.filter { !(($0["answers"] as? [String]) ?? []).isEmpty }
        let v1 = SquadMetrics.v1(predictions: answered.map { $0["prediction"] as! String }, answers: answered.map { $0["answers"] as! [String] })
        for (key, value) in try XCTUnwrap(metrics["v1"] as? [String: Double]) {
            XCTAssertEqual(try XCTUnwrap(v1[key]), value, accuracy: 1e-12, key)
        }
        let v2 = SquadMetrics.v2(predictions: cases.map { $0["prediction"] as! String }, answers: cases.map { $0["answers"] as! [String] })
        for (key, value) in try XCTUnwrap(metrics["v2"] as? [String: Any]) {
            XCTAssertEqual(try XCTUnwrap(v2[key]), try XCTUnwrap((value as? NSNumber)?.doubleValue), accuracy: 1e-12, key)
        }
    }
}
