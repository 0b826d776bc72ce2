import FTCore
@testable import FTFederated
import FTTrain
import Foundation
import XCTest

/// `fttrain partition`'s splits: every row at exactly one site, groups kept whole, seeded, and
/// Dirichlet label skew that follows α; the per-site files read back as the rows they came from.
final class SitePartitionTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fttrain-partition-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// 120 reviews of 13 movies (uneven sizes), three labels; one text has a comma, a quote and a newline.
    private func writeReviews(_ name: String = "reviews.csv") throws -> String {
        var lines = ["label,text,movie"]
        for i in 0..<120 {
            let movie = "m\((i * 7) % 13 + (i % 5 == 0 ? 0 : 0))"
            let text = i == 3 ? "\"odd, \"\"quoted\"\"\nline\"" : "review \(i)"
            lines.append("\(["fresh", "rotten", "plot"][i % 3]),\(text),\(movie)")
        }
        let path = directory.appendingPathComponent(name).path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testByColumnKeepsGroupsWholeAndBalances() throws {
        let table = try DataTable.read(try writeReviews())
        XCTAssertEqual(table.rows.count, 120)
        let sites = try SitePartition.assign(table, sites: 4, strategy: .byColumn("movie"), seed: 1)
        XCTAssertEqual(sites.flatMap { $0 }.sorted(), Array(0..<120), "every row exactly once")
        let movie = try table.columnIndex("movie")
        var siteOfMovie: [String: Int] = [:]
        for (site, rows) in sites.enumerated() {
            for row in rows {
                let key = table.rows[row].values[movie]!
                XCTAssertEqual(siteOfMovie[key, default: site], site, "movie \(key) split across sites")
                siteOfMovie[key] = site
            }
        }
        let largestGroup = Dictionary(grouping: table.rows, by: { $0.values[movie]! }).values.map(\.count).max()!
        XCTAssertLessThanOrEqual(sites.map(\.count).max()! - sites.map(\.count).min()!, largestGroup)
        XCTAssertEqual(try SitePartition.assign(table, sites: 4, strategy: .byColumn("movie"), seed: 1), sites, "seeded")
        XCTAssertNotEqual(try SitePartition.assign(table, sites: 4, strategy: .byColumn("movie"), seed: 2), sites)
    }

    func testBadRequestsNameTheProblem() throws {
        let table = try DataTable.read(try writeReviews())
        XCTAssertThrowsError(try SitePartition.assign(table, sites: 14, strategy: .byColumn("movie"), seed: 1)) {
            XCTAssertTrue("\($0)".contains("13 distinct values"), "\($0)")
        }
        XCTAssertThrowsError(try SitePartition.assign(table, sites: 2, strategy: .byColumn("director"), seed: 1)) {
            XCTAssertTrue("\($0)".contains("director") && "\($0)".contains("movie"), "\($0)")
        }
        XCTAssertThrowsError(try SitePartition.assign(table, sites: 121, strategy: .byColumn("movie"), seed: 1)) {
            XCTAssertTrue("\($0)".contains("fewer than the 121 sites"), "\($0)")
        }
    }

    /// Small α: each site dominated by few labels; large α: every site near the overall 1/3 shares.
    func testDirichletSkewFollowsAlpha() throws {
        var lines = ["label,text"]
        for i in 0..<3000 { lines.append("\(["a", "b", "c"][i % 3]),t\(i)") }
        let path = directory.appendingPathComponent("labels.csv").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let table = try DataTable.read(path)
        func dominantShare(_ alpha: Double) throws -> Double {
            let sites = try SitePartition.assign(table, sites: 5, strategy: .dirichlet(alpha: alpha, labelColumn: "label"), seed: 3)
            XCTAssertEqual(sites.flatMap { $0 }.sorted(), Array(0..<3000))
            let shares = sites.map { rows -> Double in
                let counts = Dictionary(grouping: rows, by: { table.rows[$0].values[0]! }).values.map(\.count)
                return Double(counts.max()!) / Double(rows.count)
            }
            return shares.reduce(0, +) / Double(shares.count)
        }
        XCTAssertGreaterThan(try dominantShare(0.1), 0.75)
        XCTAssertLessThan(try dominantShare(1000), 0.37)
    }

    func testGammaSamplerMoments() {
        var rng = SeededRNG(seed: 9)
        for shape in [0.3, 1.0, 2.5, 9.0] {
            let draws = (0..<40_000).map { _ in SitePartition.gammaSample(shape: shape, rng: &rng) }
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
            XCTAssertEqual(mean, shape, accuracy: 0.05 * shape + 0.01, "mean of Gamma(\(shape))")
            XCTAssertEqual(variance, shape, accuracy: 0.1 * shape + 0.02, "variance of Gamma(\(shape))")
            XCTAssertTrue(draws.allSatisfy { $0 > 0 })
        }
    }

    func testWrittenSitesReadBackAndRefuseToOverwrite() throws {
        let table = try DataTable.read(try writeReviews())
        let sites = try SitePartition.assign(table, sites: 3, strategy: .byColumn("movie"), seed: 5)
        let output = directory.appendingPathComponent("sites")
        let files = try SitePartitionWriter.write(table, assignment: sites, labelIndex: 0, to: output, strategy: "by movie", seed: 5)
        XCTAssertEqual(files.map(\.lastPathComponent), ["site-1.csv", "site-2.csv", "site-3.csv"])
        for (site, file) in files.enumerated() {
            let back = try DataTable.read(file.path)
            XCTAssertEqual(back.header, table.header)
            XCTAssertEqual(back.rows.map(\.values), sites[site].map { table.rows[$0].values }, "site \(site + 1)")
        }
        let all = try files.flatMap { try DataTable.read($0.path).rows.map { $0.values[1]! } }
        XCTAssertTrue(all.contains("odd, \"quoted\"\nline"), "a quoted field with a comma, quotes and a newline survives")
        XCTAssertThrowsError(
            try SitePartitionWriter.write(
                table, assignment: sites, labelIndex: 0, to: output,
                strategy: "by movie", seed: 5)
        ) {
            XCTAssertTrue("\($0)".contains("already holds partition.json"), "\($0)")
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("partition.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["sites"] as? Int, 3)
    }

    func testJSONLinesRowsAreCopiedVerbatim() throws {
        let path = directory.appendingPathComponent("rows.jsonl").path
        let lines = (0..<12).map { #"{"text": "r\#($0) é", "label": \#($0 % 2), "group": "g\#($0 % 4)", "extra": [1, {"x": null}]}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let table = try DataTable.read(path)
        XCTAssertEqual(table.header, ["text", "label", "group", "extra"])
        XCTAssertEqual(table.rows[3].values, ["r3 é", "1", "g3", nil])
        let sites = try SitePartition.assign(table, sites: 2, strategy: .byColumn("group"), seed: 1)
        let text = table.serialized(sites[0].map { table.rows[$0] })
        XCTAssertEqual(text, sites[0].map { lines[$0] + "\n" }.joined())
    }

    /// A JSON Lines file whose rows each bring a key of their own kept rows × keys values (5,000
    /// such rows took 9.5 s and 400 MB; a 2 MB file could exhaust memory): rows now hold the keys they have.
    func testRowsWithTheirOwnKeysStayLinear() throws {
        let path = directory.appendingPathComponent("wide.jsonl").path
        let lines = (0..<20_000).map { #"{"text": "t\#($0)", "label": "a", "k\#($0)": \#($0)}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let started = Date()
        let table = try DataTable.read(path)
        XCTAssertEqual(table.header.count, 20_002)
        XCTAssertEqual(table.rows[7].value(at: try table.columnIndex("k7")), "7")
        XCTAssertNil(table.rows[7].value(at: try table.columnIndex("k8")))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "reading must stay linear in the file")
    }
}
