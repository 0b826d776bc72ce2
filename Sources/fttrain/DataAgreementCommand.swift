import ArgumentParser
import FTTrain
import Foundation

extension AgreementStatistics.Weights: ExpressibleByArgument {}

/// `fttrain data agreement`: Cohen's, Fleiss' and Krippendorff's agreement between annotator
/// columns, and each row's majority label.
struct DataAgreementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Measure agreement between annotators (Cohen's/Fleiss' kappa, Krippendorff's alpha) and write majority labels.",
        discussion: """
            Each annotator is a column; an empty cell is a missing rating. Prints Cohen's kappa for \
            each pair (and weighted with --weights, the labels in numeric order when they are numbers) \
            with its confusion matrix, Fleiss' kappa (items every annotator rated), Krippendorff's \
            nominal alpha (missing ratings allowed), and one-vs-rest figures per label. --output writes \
            the input plus `majority` (empty on a tie) and `adjudicate` (true on a tie).
              fttrain data agreement --input labels.csv --annotators ann1,ann2,ann3 --output adjudicate.csv
            """)

    @Option(help: "The data file (CSV, TSV or JSON Lines).")
    var input: String

    @Option(help: "Comma-separated annotator columns (at least two).")
    var annotators: String

    @Option(help: "Weighted Cohen's kappa for ordinal labels: linear or quadratic.")
    var weights: AgreementStatistics.Weights = .none

    @Option(help: "Write the input plus majority and adjudicate columns here (same format).")
    var output: String?

    @Option(help: "Also write the statistics as JSON here.")
    var report: String?

    private var annotatorList: [String] {
        annotators.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        if annotatorList.count < 2 { throw ValidationError("--annotators must name at least two columns") }
        if Set(annotatorList).count != annotatorList.count { throw ValidationError("--annotators names a column twice") }
    }

    func run() throws {
        let table = try DataTable.read(input)
        let result = try AnnotatorAgreement.measure(table: table, annotators: annotatorList, weights: weights)
        print(result.summary)
        if let report { try result.json().write(to: URL(fileURLWithPath: report), options: .atomic) }
        if let output {
            try AnnotatorAgreement.writeWithMajority(table, report: result, to: output)
            print("wrote \(output) (\(result.adjudications) rows to adjudicate)")
        }
    }
}
