import FTCore
import FTModel
import Foundation
import TestSupport
import XCTest

@testable import FTTrain

/// `fttrain select`: each strategy's score and order on hand-computed cases, k-center greedy on a
/// 2-D point set, data-parallel selection equal to one process's, the output's columns, the errors.
final class ActiveLearningTests: XCTestCase {
    /// Six rows of three classes. Hand-computed:
    /// row  p                   1-max  p1-p2  entropy (nats)
    /// 0    .5  .3  .2          .5     .2     1.0297
    /// 1    .9  .05 .05         .1     .85    0.3944
    /// 2    .4  .4  .2          .6     0      1.0549
    /// 3    .34 .33 .33         .66    .01    1.0986
    /// 4    .5  .3  .2          .5     .2     1.0297  (= row 0: ties go to row 0)
    /// 5    .55 .45 0           .45    .1     0.6881
    private let probabilities: [Float] = [
        0.5, 0.3, 0.2, 0.9, 0.05, 0.05, 0.4, 0.4, 0.2, 0.34, 0.33, 0.33, 0.5, 0.3, 0.2, 0.55, 0.45, 0,
    ]

    private func ranked(_ strategy: SelectionStrategy, budget: Int = 6) -> [SelectedRow] {
        let scores = UncertaintyScores.scores(probabilities: probabilities, classes: 3, strategy: strategy, seed: 1)
        return UncertaintyScores.rank(scores, budget: budget, higherFirst: strategy.higherFirst)
    }

    func testUncertaintyStrategiesOnHandComputedProbabilities() {
        let lc = ranked(.leastConfidence)
        XCTAssertEqual(lc.map(\.index), [3, 2, 0, 4, 5, 1])
        XCTAssertEqual(lc.map(\.rank), [1, 2, 3, 4, 5, 6])
        for (row, expected) in zip(lc, [0.66, 0.6, 0.5, 0.5, 0.45, 0.1]) { XCTAssertEqual(row.score, expected, accuracy: 1e-7) }

        let margin = ranked(.margin)
        XCTAssertEqual(margin.map(\.index), [2, 3, 5, 0, 4, 1])
        for (row, expected) in zip(margin, [0, 0.01, 0.1, 0.2, 0.2, 0.85]) { XCTAssertEqual(row.score, expected, accuracy: 1e-7) }

        let entropy = ranked(.entropy, budget: 4)
        XCTAssertEqual(entropy.map(\.index), [3, 2, 0, 4])
        let h3 = -(0.34 * log(0.34) + 2 * 0.33 * log(0.33)), h2 = -(2 * 0.4 * log(0.4) + 0.2 * log(0.2))
        let h0 = -(0.5 * log(0.5) + 0.3 * log(0.3) + 0.2 * log(0.2))
        for (row, expected) in zip(entropy, [h3, h2, h0, h0]) { XCTAssertEqual(row.score, expected, accuracy: 1e-6) }
        XCTAssertEqual(h3, 1.0986, accuracy: 1e-4)
        XCTAssertEqual(ranked(.entropy).last?.index, 1)

        // Random: seeded, each row's draw its own (independent of the others), a permutation.
        let random = ranked(.random)
        XCTAssertEqual(Set(random.map(\.index)), Set(0..<6))
        XCTAssertEqual(random, ranked(.random))
        XCTAssertEqual(random.first?.score, UncertaintyScores.randomScore(row: random[0].index, seed: 1))
        let other = UncertaintyScores.rank(
            UncertaintyScores.scores(probabilities: probabilities, classes: 3, strategy: .random, seed: 2), budget: 6, higherFirst: true)
        XCTAssertNotEqual(other.map(\.index), random.map(\.index))
    }

    /// Pool p0 (0,0) p1 (1,0) p2 (5,0) p3 (0,4) p4 (5,5) p5 (−5,0); labelled (0,0). Squared
    /// distances to the nearest centre: 0 1 25 16 50 25 → p4 (√50). With p4: p2 and p5 stay 25
    /// (tie: p2, the lower index) → p2 (5). With p2: p5 25 → p5 (5). Then p3 (4), p1 (1), p0 (0).
    func testKCenterGreedyOnPointsMatchesHandComputedOrder() {
        let pool: [Float] = [0, 0, 1, 0, 5, 0, 0, 4, 5, 5, -5, 0]
        let picks = KCenterGreedy.select(pool: pool, labeled: [0, 0], dimension: 2, budget: 6, seed: 3)
        XCTAssertEqual(picks.map(\.index), [4, 2, 5, 3, 1, 0])
        XCTAssertEqual(picks.map(\.rank), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(picks.map(\.score), [Double(50).squareRoot(), 5, 5, 4, 1, 0])
        XCTAssertEqual(KCenterGreedy.select(pool: pool, labeled: [0, 0], dimension: 2, budget: 2, seed: 3).map(\.index), [4, 2])

        // Nothing labelled: a seeded first centre (score 0), then the same greedy rule as if that
        // row had been labelled.
        let unlabelled = KCenterGreedy.select(pool: pool, dimension: 2, budget: 6, seed: 3)
        XCTAssertEqual(unlabelled.first?.score, 0)
        let first = unlabelled[0].index
        let rest = KCenterGreedy.select(pool: pool, labeled: Array(pool[(2 * first)..<(2 * first + 2)]), dimension: 2, budget: 5, seed: 3)
        XCTAssertEqual(Array(unlabelled.dropFirst()).map(\.index), rest.map(\.index))
        XCTAssertEqual(Set(unlabelled.map(\.index)).count, 6)
        XCTAssertEqual(KCenterGreedy.select(pool: pool, dimension: 2, budget: 6, seed: 3), unlabelled)
    }

    // MARK: - The whole selection on a tiny classifier

    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-select-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private static let words = ["good", "great", "bad", "awful", "the", "movie", "film", "was", "is", "a", "plot", "!"]

    /// A tiny random BERT with a two-class head (`id2label`), as a fine-tuned run's `model/` has.
    private func classifier() throws -> URL {
        let model = directory.appendingPathComponent("model")
        try TinyModelDirectory.write(to: model, words: Self.words, hiddenSize: 16, layers: 1, heads: 2, seed: 4)
        let configURL = model.appendingPathComponent("config.json")
        var config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["architectures"] = ["BertForSequenceClassification"]
        config["id2label"] = ["0": "neg", "1": "pos"]
        config["label2id"] = ["neg": 0, "pos": 1]
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        return model
    }

    /// 23 rows of different lengths (not a multiple of 2 or 3 ranks, in batches of 4).
    private func pool(jsonl: Bool = false) throws -> String {
        var rows: [String] = []
        for i in 0..<23 {
            let n = 1 + i % 5
            rows.append((0..<n).map { Self.words[(i * 7 + $0 * 3) % Self.words.count] }.joined(separator: " "))
        }
        let url = directory.appendingPathComponent(jsonl ? "pool.jsonl" : "pool.csv")
        let text =
            jsonl
            ? rows.enumerated().map { "{\"id\": \($0), \"text\": \"\($1)\", \"meta\": {\"k\": [1, 2]}}\n" }.joined()
            : "id,text\n" + rows.enumerated().map { "\($0),\($1)\n" }.joined()
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func testShardedSelectionEqualsSingleProcessAndWritesColumns() throws {
        let savedThreads = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = savedThreads }
        let model = try classifier()
        let csv = try pool()
        for strategy in [SelectionStrategy.entropy, .kcenter] {
            var settings = PoolSelectionOptions(poolPath: csv, budget: 7, strategy: strategy)
            settings.batchSize = 4
            let options = settings
            let single = try PoolSelection.select(modelDirectory: model, options: options)
            XCTAssertEqual(single.selected.count, 7)
            XCTAssertEqual(Set(single.selected.map(\.index)).count, 7)
            let expected = PoolSelection.serialized(pool: single.pool, selected: single.selected)
            for ranks in [2, 3] {
                let outputs = try InProcessWorlds.run(size: ranks) { world -> String in
                    let result = try PoolSelection.select(modelDirectory: model, options: options, world: world)
                    return PoolSelection.serialized(pool: result.pool, selected: result.selected)
                }
                for (rank, output) in outputs.enumerated() { XCTAssertEqual(output, expected, "\(strategy), \(ranks) ranks, rank \(rank)") }
            }
            // The chosen rows, best first, with the pool's columns then score and rank.
            let lines = expected.split(separator: "\n")
            XCTAssertEqual(lines.first, "id,text,score,rank")
            XCTAssertEqual(lines.count, 8)
            let top = single.selected[0]
            XCTAssertEqual(lines[1], "\(top.index),\(single.pool.rows[top.index].value(at: 1)!),\(top.score),1")
        }
        // Entropy of a two-class softmax is at most ln 2, and the order is by it.
        var options = PoolSelectionOptions(poolPath: csv, budget: 23, strategy: .entropy)
        options.batchSize = 4
        let all = try PoolSelection.select(modelDirectory: model, options: options).selected
        XCTAssertEqual(all.map(\.score), all.map(\.score).sorted(by: >))
        XCTAssertLessThanOrEqual(all[0].score, log(2.0) + 1e-9)

        // JSON Lines: the line as read (nested values too), then the two keys.
        let jsonl = try pool(jsonl: true)
        options = PoolSelectionOptions(poolPath: jsonl, budget: 2, strategy: .margin)
        let picked = try PoolSelection.select(modelDirectory: model, options: options)
        let written = PoolSelection.serialized(pool: picked.pool, selected: picked.selected).split(separator: "\n")
        XCTAssertEqual(written.count, 2)
        let first = picked.selected[0]
        XCTAssertEqual(String(written[0]), String(picked.pool.rows[first.index].raw.dropLast()) + ", \"score\": \(first.score), \"rank\": 1}")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(written[1].utf8)) as? [String: Any])
        XCTAssertEqual(object["rank"] as? Int, 2)
        XCTAssertNotNil(object["meta"] as? [String: Any])

        // k-center from labelled rows: none of its picks is a labelled text's twin at distance 0 first.
        let labeled = directory.appendingPathComponent("labeled.csv").path
        try Data("text,label\ngood movie,pos\nawful film,neg\n".utf8).write(to: URL(fileURLWithPath: labeled))
        options = PoolSelectionOptions(poolPath: csv, budget: 3, strategy: .kcenter, labeledPath: labeled)
        let fromLabeled = try PoolSelection.select(modelDirectory: model, options: options).selected
        XCTAssertEqual(fromLabeled.count, 3)
        XCTAssertGreaterThan(fromLabeled[0].score, 0)
        XCTAssertEqual(fromLabeled.map(\.score), fromLabeled.map(\.score).sorted(by: >))
    }

    func testBadInputsAreClearErrors() throws {
        let model = try classifier()
        let csv = try pool()
        func message(_ options: PoolSelectionOptions) -> String {
            do {
                _ = try PoolSelection.select(modelDirectory: model, options: options)
                return "no error"
            } catch { return "\(error)" }
        }
        let missing = directory.appendingPathComponent("nope.csv").path
        XCTAssertTrue(message(PoolSelectionOptions(poolPath: missing, budget: 1, strategy: .entropy)).contains(missing))
        XCTAssertEqual(
            message(PoolSelectionOptions(poolPath: csv, budget: 24, strategy: .margin)),
            "--budget 24 is larger than the pool: \(csv) has 23 rows")
        XCTAssertEqual(message(PoolSelectionOptions(poolPath: csv, budget: 0, strategy: .margin)), "--budget must be at least 1, got 0")
        XCTAssertTrue(message(PoolSelectionOptions(poolPath: csv, budget: 2, strategy: .entropy, labeledPath: csv)).contains("--labeled"))
        var noColumn = PoolSelectionOptions(poolPath: csv, budget: 2, strategy: .entropy)
        noColumn.textColumn = "body"
        XCTAssertTrue(message(noColumn).contains("body"), message(noColumn))
        let empty = directory.appendingPathComponent("empty-text.csv").path
        try Data("id,text\n0,good\n1,\n".utf8).write(to: URL(fileURLWithPath: empty))
        XCTAssertEqual(message(PoolSelectionOptions(poolPath: empty, budget: 1, strategy: .entropy)), "\(empty):3: no text in column \"text\"")
        let bare = directory.appendingPathComponent("bare")
        try TinyModelDirectory.write(to: bare, words: Self.words, hiddenSize: 16, layers: 1, heads: 2)
        do {
            _ = try PoolSelection.select(modelDirectory: bare, options: PoolSelectionOptions(poolPath: csv, budget: 1, strategy: .entropy))
            XCTFail("a bare encoder has no classes")
        } catch { XCTAssertTrue("\(error)".contains("not a fine-tuned classifier"), "\(error)") }
        XCTAssertNil(SelectionStrategy(rawValue: "uncertainty"))
    }
}
