import FTCore
import Foundation
import XCTest

@testable import FTTrain

/// `augment:` in train: EDA copies are added to the training split only, after the split, seeded,
/// labels kept; the setting is read, written, checked and reported like every other.
final class TrainingAugmentationTests: XCTestCase {
    private func data() throws -> (DataTempFiles, String, String) {
        let files = try DataTempFiles()
        var csv = "text,label\n"
        for i in 0..<60 { csv += "\"a good film number \(i) with a fine cast\",pos\n" }
        for i in 0..<40 { csv += "\"a dull story number \(i) and a bad ending\",neg\n" }
        let synonyms = try files.write("syn.txt", "good, great, fine\nbad, awful, poor\ndull, boring\nfilm, movie\n")
        return (files, try files.write("reviews.csv", csv), synonyms)
    }

    func testOnlyTheTrainingSplitGrowsReproducibly() throws {
        let (files, path, synonyms) = try data()
        _ = files
        var settings = AugmentSettings()
        settings.copies = 2
        settings.synonyms = synonyms
        settings.unit = .word
        let plain = try TextClassificationData.prepare(DataPreparationOptions(trainPath: path, seed: 7))
        let options = DataPreparationOptions(trainPath: path, seed: 7, augment: settings)
        let augmented = try TextClassificationData.prepare(options)

        // 100 rows → 80/10/10; every training row gains exactly 2 copies.
        XCTAssertEqual(plain.train.count, 80)
        XCTAssertEqual(augmented.train.count, 80 * 3)
        XCTAssertEqual(augmented.augmentation?.originalRows, 80)
        XCTAssertEqual(augmented.augmentation?.added, 160)
        XCTAssertEqual(augmented.augmentation?.byOperation.values.reduce(0, +), 160)
        // Rows take the operations in turn: all four are used, about equally.
        let counts = try XCTUnwrap(augmented.augmentation?.byOperation)
        XCTAssertEqual(counts.count, 4, "\(counts)")
        XCTAssertTrue(counts.values.allSatisfy { $0 >= 25 }, "\(counts)")
        XCTAssertEqual(augmented.summary.total(split: "train"), 240)
        XCTAssertTrue(augmented.logLines.contains { $0.hasPrefix("augment added 160 rows to the training split of 80 (") }, "\(augmented.logLines)")
        // Validation and test are exactly the same examples, in the same order.
        XCTAssertEqual(augmented.validation, plain.validation)
        XCTAssertEqual(augmented.test, plain.test)
        // Each original is followed by its copies, which keep its label and location.
        for i in 0..<80 {
            let original = augmented.train[3 * i]
            XCTAssertEqual(original, plain.train[i])
            for copy in augmented.train[(3 * i + 1)...(3 * i + 2)] {
                XCTAssertEqual(copy.labelId, original.labelId)
                XCTAssertEqual(copy.location, original.location)
            }
        }
        XCTAssertGreaterThan(zip(augmented.train, augmented.train.dropFirst()).filter { $0.text != $1.text }.count, 100, "copies differ")
        // Seeded: the same options give the same texts; another seed other texts.
        XCTAssertEqual(try TextClassificationData.prepare(options).train, augmented.train)
        settings.seed = 8
        let reseeded = try TextClassificationData.prepare(DataPreparationOptions(trainPath: path, seed: 7, augment: settings))
        XCTAssertNotEqual(reseeded.train.map(\.text), augmented.train.map(\.text))
        XCTAssertEqual(reseeded.test, plain.test)
    }

    func testSeparateFilesAreNeverAugmented() throws {
        let (files, path, _) = try data()
        let test = try files.write("test.csv", "text,label\na good film here,pos\na dull one there,neg\n")
        var settings = AugmentSettings()
        settings.synonymReplacement = 0
        settings.randomInsertion = 0
        let augmented = try TextClassificationData.prepare(DataPreparationOptions(trainPath: path, testPath: test, augment: settings))
        XCTAssertEqual(augmented.train.count, 200)
        XCTAssertEqual(augmented.test.map(\.text), ["a good film here", "a dull one there"])
    }

    func testSettingIsReadWrittenAndChecked() throws {
        let c = try TrainingConfiguration.decode(
            yaml: "augment: {copies: 3, random_swap: 0.2, synonym_replacement: 0, random_insertion: 0, unit: char, seed: 5}")
        let a = try XCTUnwrap(c.augment)
        XCTAssertEqual([a.copies, a.seed], [3, 5])
        XCTAssertEqual(a.randomSwap, 0.2)
        XCTAssertEqual(a.randomDeletion, 0.1)
        XCTAssertEqual(a.unit, .char)
        XCTAssertEqual(c.validationProblems().filter { $0.key == "augment" }.map(\.message), [])
        // Written out and read back, as the run's settings.yaml and lineage record it.
        XCTAssertEqual(try TrainingConfiguration.decode(yaml: c.yamlString()).augment, a)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any]
        XCTAssertEqual((json?["augment"] as? [String: Any])?["copies"] as? Int, 3)
        XCTAssertNil(TrainingConfiguration().augment)

        XCTAssertThrowsError(try TrainingConfiguration.decode(yaml: "augment: {copys: 2}")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("`augment` has unknown key `copys`; did you mean `copies`?"), text)
        }
        XCTAssertThrowsError(try TrainingConfiguration.decode(yaml: "augment: {random_swap: often}")) { error in
            XCTAssertTrue("\(error)".contains("`augment.random_swap` must be a number"), "\(error)")
        }
        var bad = TrainingConfiguration()
        bad.augment = AugmentSettings()
        bad.augment?.randomSwap = 1.5
        bad.augment?.copies = 0
        let messages = bad.validationProblems().filter { $0.key == "augment" }.map(\.message)
        XCTAssertTrue(messages.contains("`augment.random_swap` must be a rate in [0, 1], found 1.5"), "\(messages)")
        XCTAssertTrue(messages.contains("`augment.copies` must be >= 1, found 0"), "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("need `augment.synonyms`") }, "\(messages)")

        var flagged = TrainingConfiguration()
        try flagged.applyOverrides(["--augment", "copies=2,random_swap=0.3,synonyms=syn.txt"])
        XCTAssertEqual(flagged.augment?.copies, 2)
        XCTAssertEqual(flagged.augment?.synonyms, "syn.txt")
        XCTAssertThrowsError(try flagged.applyOverrides(["--augment", "copies=two"]))
    }

    func testChineseWordListCutsTextIntoWords() throws {
        let files = try DataTempFiles()
        let list = try files.write("words.txt", "# jieba format: word, frequency, tag\n电影 100 n\n好看 50 a\n非常\n好\n")
        let words = try TextAugmentation.readWords(list)
        XCTAssertEqual(words, ["电影", "好看", "非常", "好"])
        let eda = TextAugmentation(rates: [.randomSwap: 0.5], unit: .word, words: words)
        let (units, separator) = eda.units(of: "这部电影 非常好看")
        XCTAssertEqual(units, ["这", "部", "电影", "非常", "好看"])
        XCTAssertEqual(separator, "")
        XCTAssertEqual(TextAugmentation(rates: [.randomSwap: 0.5], unit: .char, words: words).units(of: "电影").units, ["电", "影"])
        XCTAssertEqual(eda.units(of: "a good film").units, ["a", "good", "film"])
        // Swaps move whole words: each copy is the same words in another order.
        var rng = SeededRNG(seed: 3)
        for _ in 0..<5 {
            let swapped = eda.apply(.randomSwap, to: "这部电影非常好看", using: &rng)
            XCTAssertEqual(eda.units(of: swapped).units.sorted(), units.sorted(), swapped)
        }
        // In train: `augment.words` reaches the edits.
        let csv = try files.write("zh.csv", "text,label\n" + (0..<10).map { "这部电影非常好看\($0),pos\n" }.joined())
        var settings = AugmentSettings()
        settings.synonymReplacement = 0
        settings.randomInsertion = 0
        settings.randomDeletion = 0
        settings.words = list
        let prepared = try TextClassificationData.prepare(DataPreparationOptions(trainPath: csv, testPath: csv, augment: settings))
        for copy in prepared.train.enumerated().filter({ $0.offset % 2 == 1 }).map(\.element.text) {
            XCTAssertTrue(copy.contains("电影") && copy.contains("好看") && copy.contains("非常"), copy)
        }
        XCTAssertThrowsError(try TextAugmentation.readWords(try files.write("empty.txt", "# nothing\n")))
    }
}
