import ArgumentParser
import FTTrain
import Foundation

/// `fttrain ab-report`: the per-arm accuracy of an A/B log written by `fttrain serve --ab-log`.
struct ABReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ab-report",
        abstract: "Per-arm accuracy, 95% intervals and a two-proportion test from an A/B log.",
        discussion: """
            Reads the JSON Lines log of predictions served on A/B routes and the feedback (true labels) \
            sent for them. Per arm: requests served, n (inputs with feedback), correct, accuracy with its \
            95% Wilson interval; per pair of arms: the difference with Newcombe's 95% interval and the \
            pooled two-proportion z-test (two-sided p-value). A partial last line (the server crashed \
            mid-write) is skipped with a note; a bad line elsewhere is an error naming its line.
              fttrain ab-report --log ab.jsonl --route sentiment
            """)

    @Option(help: "The A/B log (JSON Lines) written by `fttrain serve --ab-log`.")
    var log: String

    @Option(help: "Report only this route.")
    var route: String?

    @Flag(help: "Print the report as JSON (the shape GET /v1/ab returns).")
    var json = false

    func run() throws {
        let contents: ABLogContents
        do { contents = try ABLogReader.read(path: log) } catch { throw CLIError(error.description) }
        if contents.droppedTruncatedLine {
            FileHandle.standardError.write(Data("\(log): note: skipped a partial last line (a crash mid-write)\n".utf8))
        }
        let report = ABReport(ledger: contents.ledger, route: route)
        if let route, report.routes.isEmpty {
            let known = Set(contents.ledger.entries.values.map(\.prediction.route)).sorted()
            throw CLIError(
                "\(log): no predictions on route \"\(route)\""
                    + (known.isEmpty ? " (the log has none)" : "; routes in the log: \(known.joined(separator: ", "))"))
        }
        print(json ? report.json : report.text, terminator: json ? "\n" : "")
    }
}
