import FTTrain
import Foundation
import XCTest

/// Regression and multi-label metrics against scikit-learn and SciPy on fixed arrays
/// (scripts/reference/make_problem_type_metrics_fixture.py → Fixtures/metrics/problem_type_cases.json):
/// every value to 1e-12 relative (both sides sum in Double; only the order differs).
final class ProblemTypeMetricsFixtureTests: XCTestCase {
    static func cases() throws -> [String: Any] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "problem_type_cases", withExtension: "json", subdirectory: "Fixtures/metrics"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func close(_ a: Double?, _ b: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let b = (b as? NSNumber)?.doubleValue, let a else {
            return XCTFail("\(what): \(String(describing: a)) vs \(String(describing: b))", file: file, line: line)
        }
        XCTAssertEqual(a, b, accuracy: 1e-12 * max(1, abs(b)), what, file: file, line: line)
    }

    func testRegressionMetricsMatchScikitLearnAndSciPy() throws {
        let cases = try XCTUnwrap(try Self.cases()["regression"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let name = c["name"] as! String
            let metrics = RegressionMetrics(targets: c["targets"] as! [Double], predictions: c["predictions"] as! [Double])
            close(metrics.mse, c["mse"], "\(name) mse")
            close(metrics.rmse, c["rmse"], "\(name) rmse")
            close(metrics.mae, c["mae"], "\(name) mae")
            close(metrics.r2, c["r2"], "\(name) r2")
            close(metrics.pearson, c["pearson"], "\(name) pearson")
            close(metrics.spearman, c["spearman"], "\(name) spearman")
            let keys = Set(metrics.dictionary(prefix: "eval_").keys)
            XCTAssertEqual(keys, ["eval_mse", "eval_rmse", "eval_mae", "eval_r2", "eval_pearson", "eval_spearman"])
        }
        // Constant predictions: correlations are undefined (SciPy's NaN) and left out of the keys.
        let flat = RegressionMetrics(targets: [1, 2, 3], predictions: [2, 2, 2], loss: 0.5)
        XCTAssertNil(flat.pearson)
        XCTAssertNil(flat.spearman)
        XCTAssertNil(flat.dictionary()["eval_pearson"])
        XCTAssertEqual(flat.dictionary()["eval_loss"], 0.5)
    }

    func testMultiLabelMetricsMatchScikitLearn() throws {
        let cases = try XCTUnwrap(try Self.cases()["multi_label"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 4)
        for c in cases { try checkMultiLabel(c) }
    }

    /// One multi-label case: `threshold` is one number, or one per label.
    func checkMultiLabel(_ c: [String: Any], thresholds given: [Double]? = nil) throws {
        do {
            let name = c["name"] as! String
            let truth = (c["truth"] as! [[Int]]).flatMap { $0.map(Int32.init) }
            let probabilities = (c["probabilities"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let L = (c["truth"] as! [[Int]])[0].count
            let labels = (0..<L).map { "label\($0)" }
            let thresholds = given ?? (c["threshold"] as? [Double]) ?? [Double](repeating: c["threshold"] as! Double, count: L)
            let metrics = MultiLabelMetrics(truth: truth, probabilities: probabilities, classNames: labels, thresholds: thresholds)
            if c["threshold"] is [Double] {
                XCTAssertNil(metrics.threshold)
                XCTAssertTrue(metrics.report().contains("threshold per label"), metrics.report())
            }
            close(metrics.micro.f1, c["f1_micro"], "\(name) f1_micro")
            close(metrics.macro.f1, c["f1_macro"], "\(name) f1_macro")
            close(metrics.micro.precision, c["precision_micro"], "\(name) precision_micro")
            close(metrics.macro.precision, c["precision_macro"], "\(name) precision_macro")
            close(metrics.micro.recall, c["recall_micro"], "\(name) recall_micro")
            close(metrics.macro.recall, c["recall_macro"], "\(name) recall_macro")
            close(metrics.subsetAccuracy, c["subset_accuracy"], "\(name) subset accuracy")
            close(metrics.hammingLoss, c["hamming_loss"], "\(name) hamming loss")
            for k in 0..<L {
                close(metrics.perLabel[k].precision, (c["precision"] as! [Double])[k], "\(name) precision \(k)")
                close(metrics.perLabel[k].recall, (c["recall"] as! [Double])[k], "\(name) recall \(k)")
                close(metrics.perLabel[k].f1, (c["f1"] as! [Double])[k], "\(name) f1 \(k)")
                XCTAssertEqual(metrics.perLabel[k].support, (c["support"] as! [Int])[k], "\(name) support \(k)")
            }
            let dictionary = metrics.dictionary(prefix: "test_")
            XCTAssertEqual(dictionary["test_f1_micro"], metrics.micro.f1)
            XCTAssertEqual(dictionary["test_hamming_loss"], metrics.hammingLoss)
            XCTAssertNotNil(dictionary["test_f1_label0"])
            XCTAssertTrue(metrics.report().contains("micro avg"))
        }
    }

    /// Several outputs: sklearn's multioutput raw_values and uniform_average (RMSE the mean of the
    /// outputs' RMSEs), SciPy's coefficients per output and their mean.
    func testMultiOutputRegressionMatchesScikitLearnAndSciPy() throws {
        let cases = try XCTUnwrap(try Self.cases()["multi_output_regression"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 2)
        for c in cases {
            let name = c["name"] as! String
            let targets = c["targets"] as! [[Double]], predictions = c["predictions"] as! [[Double]]
            let names = ["valence", "arousal", "dominance"]
            XCTAssertEqual(targets[0].count, names.count)
            let metrics = MultiOutputRegressionMetrics(
                targets: targets.flatMap { $0 }, predictions: predictions.flatMap { $0 }, outputNames: names, loss: 0.5)
            let perOutput = c["per_output"] as! [String: [Double]], average = c["average"] as! [String: Any]
            for (k, m) in metrics.perOutput.enumerated() {
                close(m.mse, perOutput["mse"]![k], "\(name) mse \(k)")
                close(m.rmse, perOutput["rmse"]![k], "\(name) rmse \(k)")
                close(m.mae, perOutput["mae"]![k], "\(name) mae \(k)")
                close(m.r2, perOutput["r2"]![k], "\(name) r2 \(k)")
                close(m.pearson, perOutput["pearson"]![k], "\(name) pearson \(k)")
                close(m.spearman, perOutput["spearman"]![k], "\(name) spearman \(k)")
            }
            close(metrics.mse, average["mse"], "\(name) mse")
            close(metrics.rmse, average["rmse"], "\(name) rmse")
            close(metrics.mae, average["mae"], "\(name) mae")
            close(metrics.r2, average["r2"], "\(name) r2")
            close(metrics.pearson, average["pearson"], "\(name) pearson")
            close(metrics.spearman, average["spearman"], "\(name) spearman")
            let dictionary = metrics.dictionary(prefix: "eval_")
            XCTAssertEqual(dictionary["eval_rmse"], metrics.rmse)
            XCTAssertEqual(dictionary["eval_loss"], 0.5)
            XCTAssertEqual(dictionary["eval_mae_arousal"], metrics.perOutput[1].mae)
            XCTAssertEqual(dictionary["eval_spearman_dominance"], metrics.perOutput[2].spearman)
            XCTAssertEqual(dictionary.count, 7 + 6 * 3)
            let report = metrics.report()
            XCTAssertTrue(report.contains("average") && report.contains("dominance"), report)
        }
        // A constant output: its R² and correlations are undefined, and so are the averages.
        let flat = MultiOutputRegressionMetrics(targets: [1, 5, 1, 6, 1, 7], predictions: [1, 5, 2, 6, 1, 8], outputNames: ["a", "b"])
        XCTAssertNil(flat.r2)
        XCTAssertNil(flat.dictionary()["eval_r2"])
        XCTAssertNotNil(flat.dictionary()["eval_r2_b"])
    }

    /// Thresholds tuned per label as scikit-learn users do by hand (precision_recall_curve, the
    /// argmax of F1): the same thresholds, and the metrics at them; a label with no positive
    /// keeps the fallback; ties in the scores are one cut.
    func testTunedThresholdsMatchPrecisionRecallCurve() throws {
        let cases = try XCTUnwrap(try Self.cases()["tuned_thresholds"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 1)
        for c in cases {
            let rows = c["truth"] as! [[Int]]
            let L = rows[0].count
            let truth = rows.flatMap { $0.map(Int32.init) }
            let probabilities = (c["probabilities"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let fallback = c["fallback"] as! Double
            let expected = c["expected"] as! [String: Any]
            let tuned = LabelThresholds.tune(
                truth: truth, probabilities: probabilities, labels: L, fallback: [Double](repeating: fallback, count: L))
            let reference = expected["threshold"] as! [Double]
            // The same probability (Foundation's JSON reader may be an ulp off in the last digit).
            for k in 0..<L { XCTAssertEqual(tuned.thresholds[k], reference[k], accuracy: 1e-15, "label \(k)") }
            XCTAssertEqual(tuned.f1.map { $0 == nil }, (0..<L).map { k in !rows.contains { $0[k] == 1 } }, "kept where no positive")
            for k in 0..<L where tuned.f1[k] != nil {
                close(tuned.f1[k], (expected["f1"] as! [Double])[k], "tuned F1 \(k)")
            }
            try checkMultiLabel(expected, thresholds: tuned.thresholds)
        }
        // Best F1 at the lowest of equal maxima; all rows tied is one cut.
        XCTAssertEqual(LabelThresholds.bestF1Threshold(truth: [true, false, true], probabilities: [0.4, 0.4, 0.4])?.threshold, 0.4)
        XCTAssertNil(LabelThresholds.bestF1Threshold(truth: [false, false], probabilities: [0.2, 0.9]))
        // A saturated probability stays inside (0, 1) and still selects only itself.
        let saturated = LabelThresholds.tune(truth: [1, 0], probabilities: [1.0, 0.99], labels: 1, fallback: [0.5])
        XCTAssertLessThan(saturated.thresholds[0], 1)
        XCTAssertTrue(Double(Float(1)) >= saturated.thresholds[0] && Double(Float(1).nextDown) < saturated.thresholds[0])
    }
}
