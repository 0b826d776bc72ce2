import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// The SQuAD readers (`SquadData`: nested JSON, flat JSON Lines) under the seeded mutation fuzzer
/// of `FuzzTests`: every mutated file loads or fails with an error naming it (offsets past a
/// context, negative or fractional `answer_start`, wrong types, broken JSON).
extension FuzzTests {
    func testFuzzSquadJSON() throws {
        let seeds = [
            Array(
                #"""
                {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Ann lives in Paris.", "qas": [
                {"id": "a", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 13}]},
                {"id": "b", "question": "Who?", "answers": [], "is_impossible": true}]}]},
                {"id": "c", "question": "哪里?", "context": "北京很大", "answers": {"text": ["北京"], "answer_start": [0]}}]}
                """#.utf8)
        ]
        var mutator = Mutator(
            seed: 81, seeds: seeds, dictionary: ["\"answer_start\"", "\"paragraphs\"", "\"qas\"", "-1", "1e9", "13.5", "null", "[]", "{}"], text: true
        )
        let report = try Fuzz.run("squad-json", cases: 1500, fileName: "squad.json", budget: 2, next: { mutator.next() }) { path, _ in
            _ = try SquadData.read(path)
        }
        Fuzz.check(report)
    }

    func testFuzzSquadJSONLines() throws {
        let seeds = [
            Array(
                #"""
                {"id": "1", "question": "Where?", "context": "Ann lives in Paris.", "answers": {"text": ["Paris"], "answer_start": [13]}}
                {"id": 2, "question": "Who?", "context": "x", "answers": {"text": [], "answer_start": []}}
                """#.utf8)
        ]
        var mutator = Mutator(
            seed: 82, seeds: seeds, dictionary: ["\"answers\"", "\"text\"", "-1", "99999999999999999999", "null", "[]"], text: true)
        let report = try Fuzz.run("squad-jsonl", cases: 1500, fileName: "squad.jsonl", budget: 2, next: { mutator.next() }) { path, _ in
            _ = try SquadData.read(path)
        }
        Fuzz.check(report)
    }
}
