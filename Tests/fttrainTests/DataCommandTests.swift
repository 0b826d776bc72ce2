import Foundation
import TestSupport
import XCTest

/// `fttrain data anonymize|agreement|augment` run as a user would: outputs, reports and errors.
final class DataCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func file(_ name: String, _ contents: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(contents.utf8).write(to: url)
        return url.path
    }

    func testAnonymizeWritesFileAndReport() throws {
        let input = try file("in.csv", "text,phone\n\"王伟的电话是13812345678\",13812345678\n")
        let output = directory.appendingPathComponent("out.csv").path
        let report = directory.appendingPathComponent("report.json").path
        let r = try FTTrainProcess.run([
            "data", "anonymize", "--input", input, "--columns", "text", "--output", output, "--chinese-names", "--report", report,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "text,phone\n\"[NAME]的电话是[PHONE]\",13812345678\n")
        XCTAssertTrue(r.stderr.contains("text: 1 PHONE, 1 NAME"), r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        XCTAssertEqual((json["columns"] as? [String: [String: Int]])?["text"]?["PHONE"], 1)

        let bad = try FTTrainProcess.run(["data", "anonymize", "--input", input, "--columns", "body", "--output", output])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains(input) && bad.stderr.contains("\"body\""), bad.stderr)
    }

    func testAgreementAndAugment() throws {
        let input = try file("labels.csv", "text,a,b\nx,1,2\ny,2,2\nz,3,3\nw,1,1\n")
        let output = directory.appendingPathComponent("majority.csv").path
        let r = try FTTrainProcess.run(["data", "agreement", "--input", input, "--annotators", "a,b", "--weights", "quadratic", "--output", output])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("a vs b: Cohen's kappa 0.6364 over 4 items"), r.stdout)
        XCTAssertEqual(
            try String(contentsOfFile: output, encoding: .utf8),
            "text,a,b,majority,adjudicate\nx,1,2,,true\ny,2,2,2,false\nz,3,3,3,false\nw,1,1,1,false\n")
        let one = try FTTrainProcess.run(["data", "agreement", "--input", input, "--annotators", "a"])
        XCTAssertNotEqual(one.status, 0)
        XCTAssertTrue(one.stderr.contains("at least two"), one.stderr)

        let train = try file("train.csv", "text,label\ngood film,pos\n")
        let synonyms = try file("syn.txt", "good, great\n")
        let augmented = directory.appendingPathComponent("aug.csv").path
        let a = try FTTrainProcess.run([
            "data", "augment", "--input", train, "--output", augmented, "--synonyms", synonyms, "--copies", "2", "--seed", "3",
        ])
        XCTAssertEqual(a.status, 0, a.stderr)
        let lines = try String(contentsOfFile: augmented, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.hasSuffix(",pos") }, "\(lines)")
        let noSynonyms = try FTTrainProcess.run(["data", "augment", "--input", train, "--output", augmented])
        XCTAssertNotEqual(noSynonyms.status, 0)
        XCTAssertTrue(noSynonyms.stderr.contains("--synonyms"), noSynonyms.stderr)
    }
}
