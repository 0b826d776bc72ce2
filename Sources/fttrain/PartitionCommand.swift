import ArgumentParser
import FTFederated
import FTTrain
import Foundation

/// `fttrain partition`: one data file split into per-site files for federated experiments.
struct PartitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract: "Split a data file into per-site files (by a column, or label-skewed by Dirichlet(alpha)).",
        discussion: """
            Writes DIR/site-1.EXT ... DIR/site-K.EXT in the input's format (every column kept) and \
            DIR/partition.json (rows and label counts per site). Seeded: the same --seed gives the same split.
              fttrain partition --input reviews.csv --sites 4 --by movie_name --output-dir sites/
              fttrain partition --input reviews.csv --sites 4 --dirichlet 0.5 --output-dir sites/
            """)

    @Option(help: "The data file (CSV, TSV or JSON Lines).")
    var input: String

    @Option(help: "Number of sites.")
    var sites: Int

    @Option(help: "Where the per-site files go (created; must not hold site files already).")
    var outputDir: String

    @Option(help: "Keep rows with equal values of this column at one site.")
    var by: String?

    @Option(help: "Label skew: each label's rows split over the sites by Dirichlet(alpha) shares.")
    var dirichlet: Double?

    @Option(help: "The label column (for --dirichlet and the per-site counts).")
    var labelColumn: String = "label"

    @Option(help: "Seed of the split.")
    var seed: UInt64 = 42

    func validate() throws {
        guard (by == nil) != (dirichlet == nil) else { throw ValidationError("give exactly one of --by COLUMN and --dirichlet ALPHA") }
        if sites < 1 { throw ValidationError("--sites must be at least 1, got \(sites)") }
        if let dirichlet, !(dirichlet > 0 && dirichlet.isFinite) {
            throw ValidationError("--dirichlet must be a positive number, got \(dirichlet)")
        }
    }

    func run() throws {
        let table = try DataTable.read(input)
        let strategy: SitePartition.Strategy = by.map { .byColumn($0) } ?? .dirichlet(alpha: dirichlet!, labelColumn: labelColumn)
        let assignment = try SitePartition.assign(table, sites: sites, strategy: strategy, seed: seed)
        let labelIndex = table.header.firstIndex(of: labelColumn)
        let written = try SitePartitionWriter.write(
            table, assignment: assignment, labelIndex: labelIndex,
            to: URL(fileURLWithPath: outputDir, isDirectory: true),
            strategy: by.map { "by \($0)" } ?? "dirichlet \(dirichlet!)", seed: seed)
        for (site, rows) in assignment.enumerated() {
            print("site-\(site + 1): \(rows.count) rows -> \(written[site].path)")
        }
    }
}
