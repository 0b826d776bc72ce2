import FTTrain
import XCTest

/// The whole data-in path of a run, from files on disk.
final class DataPipelineTests: XCTestCase {
    func testSingleFileIsCleanedDeduplicatedSplitAndSummarised() throws {
        let files = try DataTempFiles()
        var csv = "text,label\n"
        for i in 0..<40 { csv += "\"positive review \(i), nice\",pos\n" }
        for i in 0..<20 { csv += "negative review \(i),neg\n" }
        csv += "positive review 0,  pos\n"  // duplicate after cleaning? no: differs (no ", nice")
        csv += "\"positive review 1, nice\",neg\n"  // conflicts with an earlier row: dropped
        csv += "\"positive  review 2,   nice\",pos\n"  // exact duplicate once whitespace is collapsed
        let path = try files.write("reviews.csv", csv)

        let prepared = try TextClassificationData.prepare(DataPreparationOptions(trainPath: path, seed: 5, classWeighting: .balanced))
        XCTAssertEqual(prepared.labelSet.labels, ["neg", "pos"])
        XCTAssertEqual(prepared.deduplication.count, 1)
        XCTAssertEqual(prepared.deduplication[0].report.exactDuplicates, 1)
        XCTAssertEqual(prepared.deduplication[0].report.conflictingRows, 1)
        // 61 examples: 41 pos, 20 neg → sizes 49/6/6.
        XCTAssertEqual(prepared.train.count + prepared.validation.count + prepared.test.count, 61)
        XCTAssertEqual([prepared.train.count, prepared.validation.count, prepared.test.count], [49, 6, 6])
        XCTAssertEqual(prepared.summary.count(split: "test", label: "neg"), 2)
        XCTAssertEqual(prepared.summary.count(split: "test", label: "pos"), 4)
        XCTAssertEqual(
            prepared.summary.description,
            """
            label  train  validation  test  total
            neg       16           2     2     20  32.8%
            pos       33           4     4     41  67.2%
            total     49           6     6     61
            """)
        let weights = try XCTUnwrap(prepared.classWeights)
        XCTAssertEqual(weights[0], 49.0 / (2 * 16), accuracy: 1e-6)
        XCTAssertFalse(prepared.allLabelsAreIntegers)
        XCTAssertEqual(prepared.overlapWithTrain, 0)
        XCTAssertTrue(prepared.logLines.contains { $0.contains("1 exact duplicates and 1 rows whose text already appeared with another label") })

        let again = try TextClassificationData.prepare(DataPreparationOptions(trainPath: path, seed: 5))
        XCTAssertEqual(again.train, prepared.train)
    }

    func testSeparateFilesUnseenLabelAndOversampling() throws {
        let files = try DataTempFiles()
        let train = try files.write(
            "train.jsonl",
            """
            {"text": "a1", "label": 0}
            {"text": "a2", "label": 0}
            {"text": "a3", "label": 0}
            {"text": "b1", "label": 1}

            """)
        let validation = try files.write("dev.tsv", "text\tlabel\nv1\t1\nv2\t2\na1\t0\n")
        var options = DataPreparationOptions(trainPath: train, validationPath: validation)
        let error = dataError { _ = try TextClassificationData.prepare(options) }
        XCTAssertEqual(
            error?.description,
            """
            \(validation): 1 bad row (fix them, or set skip_bad_rows: true / --skip-bad-rows to drop and report them):
              \(validation):3: label "2" does not occur in the training split (its labels: "0", "1")
            """)

        options.read.skipBadRows = true
        options.oversample = true
        let prepared = try TextClassificationData.prepare(options)
        XCTAssertTrue(prepared.allLabelsAreIntegers)
        XCTAssertEqual(prepared.validation.map(\.text), ["v1", "a1"])
        XCTAssertTrue(prepared.test.isEmpty)
        XCTAssertEqual(
            prepared.skippedRows.map(\.description), ["\(validation):3: label \"2\" does not occur in the training split (its labels: \"0\", \"1\")"])
        XCTAssertEqual(prepared.oversampledCopies, ["0": 0, "1": 2])
        XCTAssertEqual(prepared.labelSet.counts(prepared.train), [3, 3])
        XCTAssertEqual(prepared.summary.count(split: "train", label: "1"), 1, "the summary shows the data before oversampling")
        XCTAssertEqual(prepared.overlapWithTrain, 1)
        XCTAssertTrue(prepared.logLines.contains("warning: 1 validation/test examples also occur in the training split"))
        XCTAssertTrue(prepared.logLines.contains("oversampling added copies to the training split: 0 +0, 1 +2"))
    }
}
