import XCTest
@testable import FTTrain

/// Hand-checked unit tests of the metrics: AUC tie handling, argmax ties and NaN, the CSV and
/// dictionary formats, and input validation. The sklearn comparison is in `MetricsFixtureTests`.
final class MetricsTests: XCTestCase {

    // MARK: - ROC AUC

    func testAUCCountsTiesAsHalf() {
        // Positives at 0.9 and 0.5, negatives at 0.5 and 0.1: of the 4 (pos, neg) pairs, 3 are
        // ordered right and 1 is tied -> (3 + 0.5) / 4.
        let auc = ROCAUC.binary(scores: [0.9, 0.5, 0.5, 0.1], isPositive: [true, true, false, false])
        XCTAssertEqual(auc, 0.875)
        // All scores equal: the curve is the diagonal.
        XCTAssertEqual(ROCAUC.binary(scores: [0.3, 0.3, 0.3], isPositive: [true, false, true]), 0.5)
        // Perfectly inverted ranking.
        XCTAssertEqual(ROCAUC.binary(scores: [0.1, 0.2, 0.8, 0.9], isPositive: [true, true, false, false]), 0)
    }

    func testAUCIsIndependentOfSampleOrder() {
        let scores: [Float] = [0.2, 0.7, 0.7, 0.4, 0.9, 0.1, 0.4, 0.7]
        let positive = [false, true, false, true, true, false, false, true]
        let reference = ROCAUC.binary(scores: scores, isPositive: positive)
        let order = [5, 2, 7, 0, 3, 6, 1, 4]
        XCTAssertEqual(ROCAUC.binary(scores: order.map { scores[$0] }, isPositive: order.map { positive[$0] }), reference)
    }

    func testAUCUndefinedCases() {
        XCTAssertNil(ROCAUC.binary(scores: [0.1, 0.2], isPositive: [true, true]))
        XCTAssertNil(ROCAUC.binary(scores: [0.1, 0.2], isPositive: [false, false]))
        XCTAssertNil(ROCAUC.binary(scores: [], isPositive: []))
        XCTAssertNil(ROCAUC.binary(scores: [0.1, .nan], isPositive: [true, false]))
        // Infinities are ordinary extreme scores.
        XCTAssertEqual(ROCAUC.binary(scores: [.infinity, -.infinity], isPositive: [true, false]), 1)
    }

    func testBinaryHeadlineAUCIsThePositiveColumn() throws {
        // Column 0 is not 1 − column 1 here, so the two one-vs-rest AUCs differ; the headline must
        // be the positive class's, as sklearn's roc_auc_score(y, proba[:, 1]).
        let probabilities: [[Float]] = [[0.9, 0.2], [0.8, 0.6], [0.1, 0.4], [0.3, 0.9]]
        let m = try ClassificationMetrics.compute(
            labels: [0, 0, 1, 1], predictions: [0, 1, 1, 1],
            probabilities: probabilities, classNames: ["no", "yes"])
        XCTAssertEqual(m.aucPerClass[1], 0.75)
        XCTAssertEqual(m.aucPerClass[0], 1.0)
        XCTAssertEqual(m.aucMacro, 0.75)
    }

    func testAbsentClassIsLeftOutOfTheAUCMacro() throws {
        let probabilities: [[Float]] = [[0.7, 0.2, 0.1], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6]]
        let m = try ClassificationMetrics.compute(
            labels: [0, 2, 0, 2], predictions: [0, 2, 0, 2],
            probabilities: probabilities, classNames: ["a", "b", "c"])
        XCTAssertNil(m.aucPerClass[1])
        XCTAssertEqual(m.aucPerClass[0], 1)
        XCTAssertEqual(m.aucPerClass[2], 1)
        XCTAssertEqual(m.aucMacro, 1)
        // Every class undefined -> no headline and no key.
        let single = try ClassificationMetrics.compute(
            labels: [1, 1], predictions: [1, 0],
            probabilities: [[0.4, 0.6], [0.7, 0.3]], classNames: ["a", "b"])
        XCTAssertNil(single.aucMacro)
        XCTAssertNil(single.dictionary()["eval_auc_macro"])
    }

    // MARK: - Precision, recall, F1

    func testZeroDivisionGivesZero() throws {
        // Class "c" never occurs and is never predicted; "b" is never predicted.
        let m = try ClassificationMetrics.compute(
            labels: [0, 1, 0, 1], predictions: [0, 0, 0, 0],
            probabilities: Array(repeating: [1, 0, 0], count: 4),
            classNames: ["a", "b", "c"])
        XCTAssertEqual(m.perClass[1], ClassScores(precision: 0, recall: 0, f1: 0, support: 2))
        XCTAssertEqual(m.perClass[2], ClassScores(precision: 0, recall: 0, f1: 0, support: 0))
        XCTAssertEqual(m.perClass[0].precision, 0.5)
        XCTAssertEqual(m.perClass[0].recall, 1)
        // Macro over all three classes (labels=range(K)), including the absent one.
        XCTAssertEqual(m.macroAverage.recall, 1.0 / 3.0)
        XCTAssertEqual(m.weightedAverage.recall, 0.5)
        XCTAssertEqual(m.accuracy, 0.5)
    }

    // MARK: - Argmax

    func testArgmaxTiesAndNaN() {
        XCTAssertEqual(ClassificationMetrics.argmax([0.2, 0.5, 0.5, 0.1] as [Float]), 1)
        XCTAssertEqual(ClassificationMetrics.argmax([1, 1, 1] as [Float]), 0)
        XCTAssertEqual(ClassificationMetrics.argmax([-3, -1, -2] as [Float]), 1)
        XCTAssertEqual(ClassificationMetrics.argmax([0.1, .nan, 0.9, .nan] as [Float]), 1)
        XCTAssertEqual(ClassificationMetrics.argmax([.nan, 0.9] as [Float]), 0)
        XCTAssertEqual(ClassificationMetrics.argmax([-.infinity, -.infinity] as [Float]), 0)
        XCTAssertEqual(ClassificationMetrics.argmax(flat: [0, 1, 1, 0, 2, 2], classCount: 2), [1, 0, 0])
        XCTAssertEqual(ClassificationMetrics.argmax(flat: [], classCount: 3), [])
    }

    // MARK: - Confusion matrix CSV

    func testConfusionMatrixCSV() throws {
        let m = try ClassificationMetrics.compute(
            labels: [0, 0, 1, 2, 2, 2], predictions: [0, 1, 1, 2, 0, 2],
            probabilities: Array(repeating: 0, count: 18),
            classNames: ["cold", "flu, severe", "say \"hi\""])
        XCTAssertEqual(m.confusionMatrix.rows, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
        XCTAssertEqual(m.confusionMatrix[2, 0], 1)
        // RFC 4180: fields with a comma or a quote are quoted, inner quotes doubled.
        let expected = [
            #"true\predicted,cold,"flu, severe","say ""hi""""#,
            "cold,1,1,0",
            #""flu, severe",0,1,0"#,
            #""say ""hi""",1,0,2"#,
        ].map { $0 + "\n" }.joined()
        XCTAssertEqual(m.confusionMatrixCSV(), expected)
    }

    // MARK: - metrics.json dictionary

    func testDictionaryKeys() throws {
        let m = try ClassificationMetrics.compute(
            labels: [0, 1, 1, 0], predictions: [0, 1, 0, 0],
            probabilities: [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]],
            classNames: ["negative", "positive"], loss: 0.42)
        let d = m.dictionary(prefix: "test_")
        XCTAssertEqual(
            Set(d.keys),
            [
                "test_loss", "test_accuracy", "test_precision_macro", "test_recall_macro", "test_f1_macro",
                "test_precision_weighted", "test_recall_weighted", "test_f1_weighted", "test_auc_macro",
                "test_f1_negative", "test_f1_positive",
            ])
        XCTAssertEqual(d["test_loss"], 0.42)
        XCTAssertEqual(d["test_accuracy"], 0.75)
        XCTAssertEqual(d["test_auc_macro"], 1)
        XCTAssertEqual(d["test_f1_positive"], 2.0 / 3.0)
        XCTAssertEqual(d["test_f1_macro"], m.macroAverage.f1)
        // No loss given -> no loss key; default prefix is eval_.
        let noLoss = try ClassificationMetrics.compute(
            labels: [0, 1], predictions: [0, 1],
            probabilities: [[1, 0], [0, 1]], classNames: ["a", "b"])
        XCTAssertNil(noLoss.dictionary()["eval_loss"])
        XCTAssertEqual(noLoss.dictionary()["eval_accuracy"], 1)
    }

    func testDictionaryPerClassKeysNeverOverwriteAverages() throws {
        let m = try ClassificationMetrics.compute(
            labels: [0, 1, 2], predictions: [0, 0, 2],
            probabilities: Array(repeating: [0.4, 0.3, 0.3], count: 3),
            classNames: ["macro", "other", "class_macro"])
        let d = m.dictionary()
        XCTAssertEqual(d["eval_f1_macro"], m.macroAverage.f1)
        XCTAssertEqual(d["eval_f1_class_macro"], m.perClass[0].f1)
        XCTAssertEqual(d["eval_f1_class_other"], m.perClass[1].f1)
        XCTAssertEqual(d["eval_f1_class_class_macro"], m.perClass[2].f1)
        XCTAssertNil(d["eval_f1_other"])
        XCTAssertEqual(d.count, 7 + 1 + 3)  // averages + accuracy, auc_macro, 3 classes
    }

    // MARK: - Report

    func testReportWidthFollowsDigits() throws {
        let m = try ClassificationMetrics.compute(
            labels: [0, 1], predictions: [0, 1],
            probabilities: [[1, 0], [0, 1]], classNames: ["a", "b"])
        // digits wider than "weighted avg" widens the name column (sklearn: max(names, 12, digits)).
        let lines = m.classificationReport(digits: 14).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertTrue(lines[2].hasPrefix(String(repeating: " ", count: 13) + "a "), String(lines[2]))
        XCTAssertTrue(lines[2].hasSuffix("1.00000000000000         1"), String(lines[2]))
    }

    // MARK: - Validation

    func testInvalidInputsThrow() {
        func expect(
            _ error: MetricsError, labels: [Int] = [0, 1], predictions: [Int] = [0, 1],
            probabilities: [Float] = [1, 0, 0, 1], classNames: [String] = ["a", "b"],
            line: UInt = #line
        ) {
            XCTAssertThrowsError(
                try ClassificationMetrics.compute(
                    labels: labels, predictions: predictions,
                    probabilities: probabilities, classNames: classNames),
                line: line
            ) { XCTAssertEqual($0 as? MetricsError, error, line: line) }
        }
        expect(.noClasses, probabilities: [], classNames: [])
        expect(.duplicateClassName("a"), classNames: ["a", "a"])
        expect(.noSamples, labels: [], predictions: [], probabilities: [])
        expect(.lengthMismatch(labels: 2, predictions: 1), predictions: [0])
        expect(.classOutOfRange(which: "labels", index: 1, value: 2, classCount: 2), labels: [0, 2])
        expect(.classOutOfRange(which: "predictions", index: 0, value: -1, classCount: 2), predictions: [-1, 0])
        expect(.probabilityShape(expectedRows: 2, expectedColumns: 2, row: nil, found: 3), probabilities: [1, 0, 0])
        XCTAssertThrowsError(
            try ClassificationMetrics.compute(
                labels: [0, 1], predictions: [0, 1],
                probabilities: [[1, 0], [1]], classNames: ["a", "b"])
        ) {
            XCTAssertEqual(
                $0 as? MetricsError,
                .probabilityShape(expectedRows: 2, expectedColumns: 2, row: 1, found: 1))
        }
        XCTAssertTrue(
            "\(MetricsError.classOutOfRange(which: "labels", index: 1, value: 2, classCount: 2))"
                .contains("labels[1] = 2"))
    }
}
