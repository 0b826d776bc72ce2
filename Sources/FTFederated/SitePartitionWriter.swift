import FTCore
import FTTrain
import Foundation

/// Writes a partition: `site-<k>.<ext>` per site and `partition.json`, all into a staging
/// directory that is renamed into place last, so a failure leaves no half-written set.
public enum SitePartitionWriter {
    /// - Returns: the site files, in site order.
    public static func write(
        _ table: DataTable, assignment: [[Int]], labelIndex: Int?, to directory: URL,
        strategy: String, seed: UInt64
    ) throws -> [URL] {
        let manager = FileManager.default
        let ext = table.format == .jsonl ? "jsonl" : table.format == .tsv ? "tsv" : "csv"
        let names = assignment.indices.map { "site-\($0 + 1).\(ext)" }
        if manager.fileExists(atPath: directory.path) {
            let existing = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
            if let clash = existing.sorted().first(where: { $0.hasPrefix("site-") || $0 == "partition.json" }) {
                throw SitePartition.PartitionError(description: "\(directory.path) already holds \(clash): choose an empty --output-dir")
            }
        }
        let staged = StagedDirectory(destination: directory, marker: "partition")
        let staging = staged.url
        try staged.create()
        do {
            var summary: [[String: Any]] = []
            for (site, rows) in assignment.enumerated() {
                let selected = rows.map { table.rows[$0] }
                try table.serialized(selected).write(to: staging.appendingPathComponent(names[site]), atomically: false, encoding: .utf8)
                var counts: [String: Int] = [:]
                if let labelIndex { for row in selected { counts[row.value(at: labelIndex) ?? "", default: 0] += 1 } }
                summary.append(["site": site + 1, "file": names[site], "rows": rows.count, "labels": counts])
            }
            let manifest: [String: Any] = [
                "input": table.path, "sites": assignment.count, "strategy": strategy,
                "seed": seed, "per_site": summary,
            ]
            try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
                .write(to: staging.appendingPathComponent("partition.json"))
            // Into the directory as it is: other files there stay.
            try staged.commitFiles(names + ["partition.json"])
        } catch {
            staged.discard()
            throw error
        }
        return names.map { directory.appendingPathComponent($0) }
    }
}
