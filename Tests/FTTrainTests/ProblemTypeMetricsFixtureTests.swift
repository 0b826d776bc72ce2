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
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let name = c["name"] as! String
            let truth = (c["truth"] as! [[Int]]).flatMap { $0.map(Int32.init) }
            let probabilities = (c["probabilities"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let L = (c["truth"] as! [[Int]])[0].count
            let labels = (0..<L).map { "label\($0)" }
            let metrics = MultiLabelMetrics(truth: truth, probabilities: probabilities, classNames: labels, threshold: c["threshold"] as! Double)
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
}
