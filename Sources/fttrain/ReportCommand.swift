import ArgumentParser
import FTTrain
import Foundation

/// `fttrain report RUN_DIR [RUN_DIR ...] [--output report.html]`: the HTML report of one run, or
/// of several overlaid (curves on shared axes, metrics side by side). `fttrain train` and
/// `fttrain federated` write the report of their own run as `OUT/report.html`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (curves, confusion matrix, ROC, errors, settings) of run directories.",
        discussion: """
            Reads each RUN_DIR's log.jsonl, metrics.json, training_config.yaml, confusion_matrix.csv, \
            errors.jsonl, predictions.jsonl, data/*.jsonl, lineage.json and rounds.jsonl (whichever are \
            there) and writes one HTML file with inline SVG charts: nothing is fetched when it is opened.
            """)

    @Argument(help: "Run directories (an output_dir of fttrain train or federated); two or more overlay.")
    var runDirectories: [String]

    @Option(help: "The HTML file to write (default: RUN_DIR/report.html for one run, report.html for several).")
    var output: String?

    func validate() throws {
        guard !runDirectories.isEmpty else { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        let directories = runDirectories.map { URL(fileURLWithPath: $0, isDirectory: true) }
        let destination =
            output.map { URL(fileURLWithPath: $0) }
            ?? (directories.count == 1 ? directories[0].appendingPathComponent(RunReport.fileName) : URL(fileURLWithPath: RunReport.fileName))
        try RunReport.write(runs: directories, to: destination)
        print(destination.path)
    }
}
