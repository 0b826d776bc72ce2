import Foundation
import FTCore
import FTTrain

/// Splits one data file into per-site files for federated experiments (`fttrain partition`),
/// seeded, so a federation can be replayed: by a column (Rotten Tomatoes' `movie_name`: every
/// movie's reviews at one site, a natural non-IID split), or by label proportions drawn from a
/// Dirichlet(α) per label (the usual label-skew benchmark: small α gives each site few labels).
public enum SitePartition {
    public enum Strategy: Sendable, Equatable {
        /// Rows with equal values of the column stay together; groups go to sites largest first,
        /// each to the site with the fewest rows so far (a balanced, seeded assignment).
        case byColumn(String)
        /// For each label, the share of each site is drawn from Dirichlet(α, …, α).
        case dirichlet(alpha: Double, labelColumn: String)
    }

    /// Errors that name what to change.
    public struct PartitionError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The row indices of each of `sites` sites, each in file order.
    public static func assign(_ table: DataTable, sites: Int, strategy: Strategy, seed: UInt64) throws -> [[Int]] {
        guard sites >= 1 else { throw PartitionError(description: "--sites must be at least 1, got \(sites)") }
        guard table.rows.count >= sites else {
            throw PartitionError(description: "\(table.path) has \(table.rows.count) rows, fewer than the \(sites) sites")
        }
        var rng = SeededRNG(seed: seed, stream: RandomStreams.sitePartition)
        let assignment: [[Int]]
        switch strategy {
        case .byColumn(let column):
            assignment = try byColumn(table, column: column, sites: sites, rng: &rng)
        case .dirichlet(let alpha, let labelColumn):
            guard alpha > 0, alpha.isFinite else { throw PartitionError(description: "--dirichlet must be a positive number, got \(alpha)") }
            assignment = try dirichlet(table, alpha: alpha, labelColumn: labelColumn, sites: sites, rng: &rng)
        }
        return assignment.map { $0.sorted() }
    }

    private static func values(_ table: DataTable, column: String) throws -> [String] {
        let index = try table.columnIndex(column)
        return try table.rows.map { row in
            guard let value = row.value(at: index) else {
                throw PartitionError(description: "\(table.path):\(row.line): no value for column \"\(column)\"")
            }
            return value
        }
    }

    private static func byColumn(_ table: DataTable, column: String, sites: Int, rng: inout SeededRNG) throws -> [[Int]] {
        let keys = try values(table, column: column)
        var groups: [String: [Int]] = [:], order: [String] = []
        for (row, key) in keys.enumerated() {
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        guard order.count >= sites else {
            throw PartitionError(description: "column \"\(column)\" has \(order.count) distinct values, fewer than the \(sites) sites")
        }
        shuffle(&order, &rng)
        // Largest groups first (ties keep the seeded order), each to the currently smallest site.
        let bySize = order.enumerated().sorted { a, b in
            let (x, y) = (groups[a.element]!.count, groups[b.element]!.count)
            return x != y ? x > y : a.offset < b.offset
        }.map(\.element)
        var result = [[Int]](repeating: [], count: sites)
        for key in bySize {
            let site = result.indices.min { result[$0].count < result[$1].count || (result[$0].count == result[$1].count && $0 < $1) }!
            result[site] += groups[key]!
        }
        return result
    }

    private static func dirichlet(
        _ table: DataTable, alpha: Double, labelColumn: String, sites: Int,
        rng: inout SeededRNG
    ) throws -> [[Int]] {
        let labels = try values(table, column: labelColumn)
        var byLabel: [String: [Int]] = [:]
        for (row, label) in labels.enumerated() { byLabel[label, default: []].append(row) }
        // Very skewed draws can leave a site empty; redraw (seeded) as FedLab and Flower's partitioners do.
        for _ in 0..<100 {
            var result = [[Int]](repeating: [], count: sites)
            for label in byLabel.keys.sorted() {
                var rows = byLabel[label]!
                shuffle(&rows, &rng)
                let shares = dirichletSample(alpha: alpha, count: sites, rng: &rng)
                var start = 0, cumulative = 0.0
                for site in 0..<sites {
                    cumulative += shares[site]
                    let end = site == sites - 1 ? rows.count : min(rows.count, Int((cumulative * Double(rows.count)).rounded()))
                    result[site] += rows[start..<max(start, end)]
                    start = max(start, end)
                }
            }
            if result.allSatisfy({ !$0.isEmpty }) { return result }
        }
        throw PartitionError(description: "Dirichlet(\(alpha)) left a site without rows in 100 draws: raise --dirichlet or lower --sites")
    }

    /// Fisher–Yates with the seeded generator.
    static func shuffle<T>(_ values: inout [T], _ rng: inout SeededRNG) {
        guard values.count > 1 else { return }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(i, Int(rng.next(upperBound: UInt64(i + 1))))
        }
    }

    /// One draw from Dirichlet(α, …, α): normalised Gamma(α, 1) draws.
    static func dirichletSample(alpha: Double, count: Int, rng: inout SeededRNG) -> [Double] {
        let draws = (0..<count).map { _ in gammaSample(shape: alpha, rng: &rng) }
        let total = draws.reduce(0, +)
        return total > 0 ? draws.map { $0 / total } : [Double](repeating: 1 / Double(count), count: count)
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1)·U^(1/shape).
    static func gammaSample(shape: Double, rng: inout SeededRNG) -> Double {
        if shape < 1 {
            let u = uniform(&rng)
            return gammaSample(shape: shape + 1, rng: &rng) * Foundation.pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = normal(&rng)
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = uniform(&rng)
            if u < 1 - 0.0331 * x * x * x * x || Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// Uniform in (0, 1), 53 bits.
    static func uniform(_ rng: inout SeededRNG) -> Double {
        (Double(rng.next() >> 11) + 0.5) / 9_007_199_254_740_992.0
    }

    /// Standard normal by Box–Muller in double precision.
    static func normal(_ rng: inout SeededRNG) -> Double {
        let u1 = uniform(&rng), u2 = uniform(&rng)
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
