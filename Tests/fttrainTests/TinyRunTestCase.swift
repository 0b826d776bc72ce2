import Foundation
import TestSupport
import XCTest

/// Shared set-up of the command-line training tests: a tiny model directory in a fresh temporary
/// directory, a word-separable three-class data set, and a short `fttrain train` run.
class TinyRunTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try TinyModelDirectory.write(to: directory.appendingPathComponent("model"), words: Self.words)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    static let words = [
        "good", "great", "fine", "bad", "awful", "dull", "the", "movie", "film", "was", "is", "a",
        "story", "about", "man", "woman", "who", "finds", "city", ".", ",", "!",
    ]

    /// Three classes that a small model can tell apart from their words; every row distinct, so
    /// de-duplication keeps them all.
    func writeData(_ name: String, rows: Int) throws -> String {
        let positive = ["good", "great", "fine"], negative = ["bad", "awful", "dull"]
        let nouns = ["movie", "film", "story"], ends = [".", "!", ","]
        func sentences(_ make: (String, String, String, String) -> String, _ adjectives: [String]) -> [String] {
            var out: [String] = []
            for a in adjectives { for b in adjectives { for n in nouns { for e in ends { out.append(make(a, b, n, e)) } } } }
            return out
        }
        let fresh = sentences({ "the \($2) was \($0) , \($1) \($3)" }, positive)
        let rotten = sentences({ "a \($2) is \($0) and \($1) \($3)" }, negative)
        var plot: [String] = []
        for who in ["man", "woman"] {
            for verb in ["finds", "was"] {
                for place in ["city", "story", "film"] {
                    for e in ends { plot.append("a \(who) who \(verb) a \(place) \(e)") }
                }
            }
        }
        var lines = ["label,text"]
        for i in 0..<rows {
            switch i % 3 {
            case 0: lines.append("fresh,\"\(fresh[(i / 3) % fresh.count])\"")
            case 1: lines.append("rotten,\"\(rotten[(i / 3) % rotten.count])\"")
            default: lines.append("plot,\"\(plot[(i / 3) % plot.count])\"")
            }
        }
        let path = directory.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func train(_ extra: [String], data: String? = nil) throws -> (FTTrainProcess.Result, URL) {
        let output = directory.appendingPathComponent("out")
        let trainFile = try data ?? writeData("train.csv", rows: 120)
        let arguments =
            [
                "train", "--model-dir", directory.appendingPathComponent("model").path, "--train-file", trainFile,
                "--output-dir", output.path, "--num-train-epochs", "15", "--per-device-train-batch-size", "8",
                "--learning-rate", "3e-3", "--logging-steps", "5", "--seed", "3", "--max-length", "16",
            ] + extra
        return (try FTTrainProcess.run(arguments), output)
    }

    func assertFails(
        _ extra: [String], data: String? = nil, mentions needles: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let (result, output) = try train(extra, data: data)
        XCTAssertNotEqual(result.status, 0, "must fail", file: file, line: line)
        for needle in needles {
            XCTAssertTrue(result.stderr.contains(needle), "stderr lacks \"\(needle)\": \(result.stderr)", file: file, line: line)
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: output.appendingPathComponent("model").path),
            "no model is written by a failed run", file: file, line: line)
    }

}
