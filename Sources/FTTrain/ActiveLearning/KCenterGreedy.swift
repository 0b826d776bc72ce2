import FTCore
import Foundation

/// k-center greedy (Sener & Savarese, "Active Learning for Convolutional Neural Networks: A
/// Core-Set Approach", 2018): the 2-approximation of the minimax facility location. Every pick is
/// the pool row farthest (Euclidean) from its nearest centre, the centres being the labelled rows
/// and the rows picked so far; its score is that distance. Ties go to the lower row index.
///
/// Without labelled rows there is no distance yet: the first centre is a seeded uniform pick
/// (score 0), as in Google's `kcenter_greedy.py`; every later pick follows the rule.
/// Distances are accumulated in double precision, so the order does not depend on summation luck.
public enum KCenterGreedy {
    /// - Parameters:
    ///   - pool: (N, D) row-major embeddings of the unlabelled rows.
    ///   - labeled: (M, D) embeddings of rows already labelled (M may be 0).
    ///   - dimension: D.
    ///   - budget: rows to pick, at most N.
    /// - Returns: the picks in order, with rank 1 first.
    public static func select(pool: [Float], labeled: [Float] = [], dimension D: Int, budget: Int, seed: UInt64) -> [SelectedRow] {
        precondition(D > 0 && pool.count % D == 0 && labeled.count % D == 0, "embeddings must be (rows, D)")
        let N = pool.count / D, M = labeled.count / D
        let budget = min(budget, N)
        guard budget > 0 else { return [] }
        // nearest[i]: squared distance from pool row i to its nearest centre so far.
        var nearest = [Double](repeating: .infinity, count: N)
        pool.withUnsafeBufferPointer { p in
            labeled.withUnsafeBufferPointer { l in
                for m in 0..<M { update(&nearest, pool: p.baseAddress!, centre: l.baseAddress! + m * D, rows: N, dimension: D) }
            }
        }
        var picks: [SelectedRow] = []
        picks.reserveCapacity(budget)
        var chosen = [Bool](repeating: false, count: N)
        while picks.count < budget {
            var best = -1
            var score = 0.0
            if M == 0 && picks.isEmpty {
                var rng = SeededRNG(seed: seed, stream: RandomStreams.activeLearningRow(-1))
                best = SeededShuffle.index(below: N, using: &rng)
            } else {
                var bestDistance = -1.0
                for i in 0..<N where !chosen[i] && nearest[i] > bestDistance {
                    best = i
                    bestDistance = nearest[i]
                }
                score = bestDistance.squareRoot()
            }
            chosen[best] = true
            picks.append(SelectedRow(index: best, score: score, rank: picks.count + 1))
            pool.withUnsafeBufferPointer { p in
                update(&nearest, pool: p.baseAddress!, centre: p.baseAddress! + best * D, rows: N, dimension: D)
            }
        }
        return picks
    }

    /// nearest[i] ← min(nearest[i], ‖pool[i] − centre‖²).
    private static func update(_ nearest: inout [Double], pool: UnsafePointer<Float>, centre: UnsafePointer<Float>, rows N: Int, dimension D: Int) {
        nearest.withUnsafeMutableBufferPointer { out in
            for i in 0..<N {
                let row = pool + i * D
                var sum = 0.0
                for d in 0..<D {
                    let diff = Double(row[d]) - Double(centre[d])
                    sum += diff * diff
                }
                if sum < out[i] { out[i] = sum }
            }
        }
    }
}
