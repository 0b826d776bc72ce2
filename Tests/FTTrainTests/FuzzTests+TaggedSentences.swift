import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// The sequence-labelling readers (`TaggedSentences`: CoNLL and JSONL, BIO and BIOES) under the
/// seeded mutation fuzzer of `FuzzTests`: every mutated file loads or fails with an error naming it.
extension FuzzTests {
    func testFuzzCoNLL() throws {
        let seeds = [
            "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n",
            "张 B-PER\n三 I-PER\n在 O\n北 B-LOC\n京 I-LOC\n\r\n\u{FEFF}x\tS-LOC\n",
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: 61, seeds: seeds, dictionary: ["B-", "I-", "E-", "S-", " O\n", "\n\n", "\t", "-DOCSTART-"], text: true)
        let report = try Fuzz.run("conll", cases: 2000, fileName: "data.conll", budget: 3, next: { mutator.next() }) { path, index in
            _ = try TaggedSentences.read(path, scheme: index % 2 == 0 ? .bio : .bioes)
        }
        Fuzz.check(report)
    }

    func testFuzzTaggedJSONLines() throws {
        let seeds = [
            Array(
                #"""
                {"tokens": ["张", "三"], "tags": ["B-PER", "I-PER"]}
                {"tokens": ["in", "Paris"], "tags": ["O", "S-LOC"], "id": 3}
                """#.utf8)
        ]
        var mutator = Mutator(seed: 71, seeds: seeds, dictionary: ["\"tokens\"", "\"tags\"", "[]", "null", "\"B-X\"", ", "], text: true)
        let report = try Fuzz.run("tagged-jsonl", cases: 2000, fileName: "data.jsonl", budget: 3, next: { mutator.next() }) { path, index in
            _ = try TaggedSentences.read(path, scheme: index % 2 == 0 ? .bio : .bioes)
        }
        Fuzz.check(report)
    }
}
