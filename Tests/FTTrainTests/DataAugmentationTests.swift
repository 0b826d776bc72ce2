import FTCore
import Foundation
import XCTest

@testable import FTTrain

/// EDA in `fttrain data augment`: each operation does what it says, the output is reproducible
/// from the seed, and labels (all other columns) are kept.
final class DataAugmentationTests: XCTestCase {
    private let synonyms: [String: [String]] = [
        "good": ["great", "fine"], "great": ["good", "fine"], "fine": ["good", "great"], "好": ["棒"], "棒": ["好"],
    ]
    private let sentence = "a good film with a good cast and a fine score"

    private func eda(_ op: TextAugmentation.Operation, rate: Double, unit: TextAugmentation.Unit = .auto) -> TextAugmentation {
        TextAugmentation(rates: [op: rate], unit: unit, synonyms: synonyms)
    }

    func testSynonymReplacementOnlySwapsSynonyms() {
        var rng = SeededRNG(seed: 1)
        let out = eda(.synonymReplacement, rate: 0.3).apply(.synonymReplacement, to: sentence, using: &rng)
        let before = sentence.split(separator: " ").map(String.init), after = out.split(separator: " ").map(String.init)
        XCTAssertEqual(before.count, after.count)
        var changed = 0
        for (b, a) in zip(before, after) where b != a {
            XCTAssertTrue(synonyms[b]?.contains(a) ?? false, "\(b) -> \(a)")
            changed += 1
        }
        XCTAssertEqual(changed, 3)  // round(0.3 × 11) positions, all of the three with synonyms, each to another word
    }

    func testInsertionSwapDeletion() {
        var rng = SeededRNG(seed: 2)
        let words = sentence.split(separator: " ").map(String.init)
        let inserted = eda(.randomInsertion, rate: 0.2).apply(.randomInsertion, to: sentence, using: &rng).split(separator: " ").map(String.init)
        XCTAssertEqual(inserted.count, words.count + 2)
        var remaining = inserted
        for w in words { remaining.remove(at: remaining.firstIndex(of: w)!) }
        XCTAssertTrue(remaining.allSatisfy { ["good", "great", "fine"].contains($0) }, "\(remaining)")

        let swapped = eda(.randomSwap, rate: 0.2).apply(.randomSwap, to: sentence, using: &rng).split(separator: " ").map(String.init)
        XCTAssertEqual(swapped.sorted(), words.sorted())
        XCTAssertNotEqual(swapped, words)

        let none = eda(.randomDeletion, rate: 1).apply(.randomDeletion, to: sentence, using: &rng).split(separator: " ")
        XCTAssertEqual(none.count, 1)  // everything deleted but one survivor
        let some = eda(.randomDeletion, rate: 0.5).apply(.randomDeletion, to: sentence, using: &rng).split(separator: " ").map(String.init)
        XCTAssertLessThan(some.count, words.count)
        XCTAssertTrue(some.allSatisfy(words.contains))
    }

    func testChineseWorksOnCharacters() {
        var rng = SeededRNG(seed: 3)
        let aug = TextAugmentation(rates: [.synonymReplacement: 0.1, .randomSwap: 0.1], synonyms: synonyms)
        XCTAssertEqual(aug.units(of: "这本书很好").units, ["这", "本", "书", "很", "好"])
        XCTAssertEqual(aug.apply(.synonymReplacement, to: "这本书很好", using: &rng), "这本书很棒")
        let swapped = aug.apply(.randomSwap, to: "这本书很好", using: &rng)
        XCTAssertEqual(swapped.count, 5)
        XCTAssertEqual(swapped.sorted(), "这本书很好".sorted())
    }

    func testFileIsReproducibleAndKeepsLabels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aug-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in.csv")
        try Data("text,label\n\"\(sentence)\",pos\n\"a dull, long film\",neg\n这本书很好,pos\n".utf8).write(to: input)
        let aug = TextAugmentation(
            rates: [.synonymReplacement: 0.1, .randomInsertion: 0.1, .randomSwap: 0.1, .randomDeletion: 0.1], synonyms: synonyms)
        func run(_ name: String, seed: UInt64) throws -> (AugmentationReport, String) {
            let out = dir.appendingPathComponent(name)
            let report = try AugmentedFile.augment(input: input.path, output: out.path, textColumn: "text", copies: 4, augmentation: aug, seed: seed)
            return (report, try String(contentsOf: out, encoding: .utf8))
        }
        let (report, a) = try run("a.csv", seed: 7)
        let (_, b) = try run("b.csv", seed: 7)
        let (_, c) = try run("c.csv", seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(report.rows, 3)
        XCTAssertEqual(report.added, 12)
        XCTAssertEqual(report.byOperation[.randomSwap], 3)
        let table = try DataTable.read(dir.appendingPathComponent("a.csv").path)
        XCTAssertEqual(table.rows.count, 15)
        XCTAssertEqual(
            table.rows.map { $0.value(at: 1)! },
            Array(repeating: "pos", count: 5) + Array(repeating: "neg", count: 5) + Array(repeating: "pos", count: 5))
        XCTAssertEqual(table.rows[0].value(at: 0), sentence)

        // JSON Lines: only the text member changes.
        let jsonl = dir.appendingPathComponent("in.jsonl")
        try Data("{\"id\": 7, \"text\": \"\(sentence)\", \"label\": \"pos\"}\n".utf8).write(to: jsonl)
        let out = dir.appendingPathComponent("out.jsonl")
        _ = try AugmentedFile.augment(input: jsonl.path, output: out.path, textColumn: "text", copies: 2, augmentation: aug, seed: 7)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        for line in lines.dropFirst() {
            XCTAssertTrue(line.hasPrefix("{\"id\": 7, \"text\": \"") && line.hasSuffix("\", \"label\": \"pos\"}"), String(line))
        }
    }
}
