import Foundation
import XCTest
@testable import FTTrain

/// Checks ``ClassificationMetrics`` against scikit-learn on the cases of
/// `Fixtures/metrics/metrics_cases.json` (made by `scripts/reference/make_metrics_fixture.py`):
/// every number within 1e-9 relative, every classification report byte for byte.
final class MetricsFixtureTests: XCTestCase {

    struct Fixture: Decodable {
        let versions: [String: String]
        let cases: [Case]
    }

    struct Case: Decodable {
        let name: String
        let classNames: [String]
        let labels: [Int]
        let predictions: [Int]
        let probabilities: [[Double]]
        let argmax: [Int]
        let accuracy: Double
        let precision: [Double]
        let recall: [Double]
        let f1: [Double]
        let support: [Int]
        let macro: [Double]
        let weighted: [Double]
        let confusionMatrix: [[Int]]
        let aucPerClass: [Double?]
        let aucMacro: Double?
        let reports: [String: String]

        enum CodingKeys: String, CodingKey {
            case name, labels, predictions, probabilities, argmax, accuracy, precision, recall, f1, support,
                macro, weighted, reports
            case classNames = "class_names"
            case confusionMatrix = "confusion_matrix"
            case aucPerClass = "auc_per_class"
            case aucMacro = "auc_macro"
        }

        /// The probabilities as the model hands them over: the fixture stores float32 values
        /// widened exactly to float64, so this conversion is exact and ties survive.
        var floatProbabilities: [[Float]] { probabilities.map { $0.map(Float.init) } }
    }

    static let relativeTolerance = 1e-9

    func loadFixture() throws -> Fixture {
        let url = try XCTUnwrap(
            Bundle.module.url(
                forResource: "metrics_cases", withExtension: "json",
                subdirectory: "Fixtures/metrics"),
            "missing Fixtures/metrics/metrics_cases.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func assertClose(
        _ actual: Double?, _ expected: Double?, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let expected else {
            XCTAssertNil(actual, "\(what): expected undefined (nil), got \(String(describing: actual))", file: file, line: line)
            return
        }
        guard let actual else { return XCTFail("\(what): nil, expected \(expected)", file: file, line: line) }
        XCTAssertLessThanOrEqual(
            abs(actual - expected), Self.relativeTolerance * abs(expected),
            "\(what): \(actual) vs sklearn \(expected)", file: file, line: line)
    }

    func testFixtureCoversTheRequiredSituations() throws {
        let fixture = try loadFixture()
        let names = Set(fixture.cases.map(\.name))
        for required in [
            "binary", "three_class", "imbalanced", "never_predicted", "ties_multiclass", "ties_binary",
            "long_names", "perfect", "class_absent_from_labels", "rounding_halves",
        ] {
            XCTAssertTrue(names.contains(required), "fixture lacks case \(required)")
        }
        XCTAssertNotNil(fixture.versions["sklearn"])
    }

    func testAllNumbersMatchScikitLearn() throws {
        for c in try loadFixture().cases {
            let m = try ClassificationMetrics.compute(
                labels: c.labels, predictions: c.predictions,
                probabilities: c.floatProbabilities, classNames: c.classNames)
            let k = c.classNames.count
            assertClose(m.accuracy, c.accuracy, "\(c.name) accuracy")
            XCTAssertEqual(m.perClass.map(\.support), c.support, "\(c.name) support")
            for i in 0..<k {
                assertClose(m.perClass[i].precision, c.precision[i], "\(c.name) precision[\(i)]")
                assertClose(m.perClass[i].recall, c.recall[i], "\(c.name) recall[\(i)]")
                assertClose(m.perClass[i].f1, c.f1[i], "\(c.name) f1[\(i)]")
                assertClose(m.aucPerClass[i], c.aucPerClass[i], "\(c.name) auc[\(i)]")
            }
            for (avg, expected, label) in [(m.macroAverage, c.macro, "macro"), (m.weightedAverage, c.weighted, "weighted")] {
                assertClose(avg.precision, expected[0], "\(c.name) \(label) precision")
                assertClose(avg.recall, expected[1], "\(c.name) \(label) recall")
                assertClose(avg.f1, expected[2], "\(c.name) \(label) f1")
            }
            assertClose(m.aucMacro, c.aucMacro, "\(c.name) auc macro")
            XCTAssertEqual(m.confusionMatrix.rows, c.confusionMatrix, "\(c.name) confusion matrix")
        }
    }

    func testFlatProbabilitiesGiveTheSameMetrics() throws {
        for c in try loadFixture().cases {
            let rows = try ClassificationMetrics.compute(
                labels: c.labels, predictions: c.predictions,
                probabilities: c.floatProbabilities, classNames: c.classNames)
            let flat = try ClassificationMetrics.compute(
                labels: c.labels, predictions: c.predictions,
                probabilities: c.floatProbabilities.flatMap { $0 },
                classNames: c.classNames)
            XCTAssertEqual(rows.aucPerClass, flat.aucPerClass, c.name)
            XCTAssertEqual(rows.perClass, flat.perClass, c.name)
            XCTAssertEqual(rows.classificationReport(), flat.classificationReport(), c.name)
        }
    }

    func testArgmaxMatchesNumpy() throws {
        for c in try loadFixture().cases {
            XCTAssertEqual(ClassificationMetrics.argmax(rows: c.floatProbabilities), c.argmax, c.name)
            XCTAssertEqual(
                ClassificationMetrics.argmax(
                    flat: c.floatProbabilities.flatMap { $0 },
                    classCount: c.classNames.count), c.argmax, c.name)
        }
    }

    func testClassificationReportIsByteIdentical() throws {
        var checked = 0
        for c in try loadFixture().cases {
            let m = try ClassificationMetrics.compute(
                labels: c.labels, predictions: c.predictions,
                probabilities: c.floatProbabilities, classNames: c.classNames)
            for (digits, expected) in c.reports {
                let actual = m.classificationReport(digits: try XCTUnwrap(Int(digits)))
                XCTAssertEqual(
                    Array(actual.utf8), Array(expected.utf8),
                    "\(c.name) digits=\(digits)\n--- fttrain:\n\(actual)--- sklearn:\n\(expected)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 20)
    }
}
