import Foundation
import XCTest

@testable import FTTrain

/// `fttrain data agreement` against scikit-learn, statsmodels and the `krippendorff` package on the
/// cases of scripts/reference/agreement_reference.py (Fixtures/data_tools/agreement_reference.json).
final class DataAgreementTests: XCTestCase {
    private let tolerance = 1e-9

    private func assertClose(_ actual: Double?, _ expected: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let expected = expected as? Double else {
            XCTAssertTrue(actual == nil || actual!.isNaN, "\(what): expected undefined, got \(String(describing: actual))", file: file, line: line)
            return
        }
        guard let actual else { return XCTFail("\(what): expected \(expected), got nil", file: file, line: line) }
        XCTAssertEqual(actual, expected, accuracy: tolerance, what, file: file, line: line)
    }

    func testEqualsReferenceLibraries() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "agreement_reference", withExtension: "json", subdirectory: "Fixtures/data_tools"))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let name = try XCTUnwrap(c["name"] as? String)
            let annotators = try XCTUnwrap(c["annotators"] as? [String])
            let ratings = try XCTUnwrap(c["ratings"] as? [[Any]]).map { $0.map { $0 as? String } }
            let e = try XCTUnwrap(c["expected"] as? [String: Any])
            let linear = try AnnotatorAgreement.measure(ratings: ratings, annotators: annotators, weights: .linear)
            let quadratic = try AnnotatorAgreement.measure(ratings: ratings, annotators: annotators, weights: .quadratic)
            XCTAssertEqual(linear.labels, e["labels"] as? [String], name)
            XCTAssertEqual(linear.completeItems, e["complete_items"] as? Int, name)
            assertClose(linear.fleissKappa, e["fleiss_kappa"], "\(name) Fleiss")
            assertClose(linear.krippendorffAlpha, e["krippendorff_alpha"], "\(name) alpha")
            let pairs = try XCTUnwrap(e["pairs"] as? [[String: Any]])
            XCTAssertEqual(linear.pairs.count, pairs.count, name)
            for (p, ref) in zip(linear.pairs.indices, pairs) {
                let what = "\(name) \(linear.pairs[p].first)-\(linear.pairs[p].second)"
                XCTAssertEqual([linear.pairs[p].first, linear.pairs[p].second], ref["annotators"] as? [String], what)
                XCTAssertEqual(linear.pairs[p].items, ref["items"] as? Int, what)
                XCTAssertEqual(linear.pairs[p].confusion, ref["confusion"] as? [[Int]], what)
                assertClose(linear.pairs[p].cohenKappa, ref["cohen_kappa"], "\(what) Cohen")
                assertClose(linear.pairs[p].weightedKappa, ref["linear"], "\(what) linear")
                assertClose(quadratic.pairs[p].weightedKappa, ref["quadratic"], "\(what) quadratic")
            }
            let perLabel = try XCTUnwrap(e["per_label"] as? [[String: Any]])
            XCTAssertEqual(linear.perLabel.map(\.label), perLabel.map { $0["label"] as? String ?? "?" }, name)
            for (l, ref) in zip(linear.perLabel, perLabel) {
                assertClose(l.fleissKappa, ref["fleiss_kappa"], "\(name) \(l.label) Fleiss")
                assertClose(l.krippendorffAlpha, ref["krippendorff_alpha"], "\(name) \(l.label) alpha")
                if annotators.count == 2 { assertClose(l.cohenKappa, ref["cohen_kappa"], "\(name) \(l.label) Cohen") }
            }
            let majority = try XCTUnwrap(e["majority"] as? [Any]).map { $0 as? String }
            XCTAssertEqual(linear.majority, majority, name)
        }
    }

    func testTextbookValues() {
        // Perfect agreement is 1; two annotators who always disagree on a binary label, -1.
        XCTAssertEqual(AgreementStatistics.cohenKappa([0, 1, 0, 1], [0, 1, 0, 1], categories: 2), 1, accuracy: 1e-12)
        XCTAssertEqual(AgreementStatistics.cohenKappa([0, 1, 0, 1], [1, 0, 1, 0], categories: 2), -1, accuracy: 1e-12)
        // Every rating the same category: undefined, as in the reference libraries.
        XCTAssertTrue(AgreementStatistics.fleissKappa(counts: [[3, 0], [3, 0]]).isNaN)
        // Alpha ignores items with a single rating.
        let a = AgreementStatistics.krippendorffAlphaNominal([[0, 0], [1, 1], [0, nil], [1, 0]], categories: 2)
        let b = AgreementStatistics.krippendorffAlphaNominal([[0, 0], [1, 1], [1, 0]], categories: 2)
        XCTAssertEqual(a, b, accuracy: 1e-12)
    }

    func testMajorityFileKeepsRowsAndFlagsTies() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = dir.appendingPathComponent("in.csv")
        try Data("text,a,b,c\n\"hi, there\",pos,pos,neg\nbye,pos,neg,\nmeh,,,\n".utf8).write(to: csv)
        let table = try DataTable.read(csv.path)
        let report = try AnnotatorAgreement.measure(table: table, annotators: ["a", "b", "c"])
        XCTAssertEqual(report.majority, ["pos", nil, nil])
        try AnnotatorAgreement.writeWithMajority(table, report: report, to: dir.appendingPathComponent("out.csv").path)
        XCTAssertEqual(
            try String(contentsOf: dir.appendingPathComponent("out.csv"), encoding: .utf8),
            "text,a,b,c,majority,adjudicate\n\"hi, there\",pos,pos,neg,pos,false\nbye,pos,neg,,,true\nmeh,,,,,true\n")

        let jsonl = dir.appendingPathComponent("in.jsonl")
        try Data("{\"a\": \"x\", \"b\": \"x\"}\n{\"a\": \"x\", \"b\": \"y\"}\n".utf8).write(to: jsonl)
        let t2 = try DataTable.read(jsonl.path)
        let r2 = try AnnotatorAgreement.measure(table: t2, annotators: ["a", "b"])
        try AnnotatorAgreement.writeWithMajority(t2, report: r2, to: dir.appendingPathComponent("out.jsonl").path)
        XCTAssertEqual(
            try String(contentsOf: dir.appendingPathComponent("out.jsonl"), encoding: .utf8),
            "{\"a\": \"x\", \"b\": \"x\", \"majority\": \"x\", \"adjudicate\": false}\n{\"a\": \"x\", \"b\": \"y\", \"majority\": \"\", \"adjudicate\": true}\n"
        )

        XCTAssertThrowsError(try AnnotatorAgreement.measure(table: table, annotators: ["a", "z"])) {
            XCTAssertTrue("\($0)".contains("\"z\" not found"), "\($0)")
        }
    }
}
