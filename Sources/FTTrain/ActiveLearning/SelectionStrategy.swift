import FTCore
import Foundation

/// How `fttrain select` ranks an unlabelled pool for labelling.
///
/// The uncertainty strategies score each row from its class probabilities alone; `kcenter` picks
/// rows that cover the pool's embedding space (Sener & Savarese's core-set); `random` is the
/// baseline every strategy must beat.
public enum SelectionStrategy: String, Sendable, CaseIterable {
    /// 1 − max p: the least sure rows first.
    case leastConfidence = "least-confidence"
    /// p₁ − p₂, the two most probable classes' gap: the smallest first.
    case margin
    /// −Σ p ln p (nats): the highest first.
    case entropy
    /// k-center greedy on the pooled embeddings: each pick the row farthest from every centre so far.
    case kcenter
    /// A seeded uniform draw per row: the highest first.
    case random

    /// Whether the strategy needs the rows' embeddings (else their probabilities).
    public var needsEmbeddings: Bool { self == .kcenter }

    /// True when a larger score ranks first (all but `margin`).
    public var higherFirst: Bool { self != .margin }
}

/// One chosen row: its index in the pool, its score, and its 1-based rank.
public struct SelectedRow: Sendable, Equatable {
    public var index: Int
    public var score: Double
    public var rank: Int

    public init(index: Int, score: Double, rank: Int) {
        self.index = index
        self.score = score
        self.rank = rank
    }
}

/// The uncertainty scores and the ranking by score.
public enum UncertaintyScores {
    /// The score of every row of `probabilities` (N, K) row-major under `strategy` (not kcenter),
    /// computed in double precision from the float probabilities.
    public static func scores(probabilities: [Float], classes K: Int, strategy: SelectionStrategy, seed: UInt64) -> [Double] {
        precondition(K > 0 && probabilities.count % K == 0, "probabilities must be (N, K)")
        let N = probabilities.count / K
        return (0..<N).map { i in
            let row = probabilities[(i * K)..<((i + 1) * K)].map(Double.init)
            switch strategy {
            case .leastConfidence:
                return 1 - (row.max() ?? 0)
            case .margin:
                var first = -Double.infinity, second = -Double.infinity
                for p in row {
                    if p > first {
                        second = first
                        first = p
                    } else if p > second {
                        second = p
                    }
                }
                return K == 1 ? first : first - second
            case .entropy:
                return -row.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
            case .random:
                return randomScore(row: i, seed: seed)
            case .kcenter:
                preconditionFailure("kcenter scores come from KCenterGreedy")
            }
        }
    }

    /// Row `i`'s uniform draw in [0, 1): from its own stream, so it does not depend on the pool's
    /// other rows or on how the pool was sharded.
    public static func randomScore(row i: Int, seed: UInt64) -> Double {
        var rng = SeededRNG(seed: seed, stream: RandomStreams.activeLearningRow(i))
        return Double(rng.next() >> 11) / Double(1 << 53)
    }

    /// The `budget` best rows by `scores`, best first (`higherFirst` or not); equal scores keep
    /// row order (the lower index first).
    public static func rank(_ scores: [Double], budget: Int, higherFirst: Bool) -> [SelectedRow] {
        let order = scores.indices.sorted { a, b in
            if scores[a] != scores[b] { return higherFirst ? scores[a] > scores[b] : scores[a] < scores[b] }
            return a < b
        }
        return order.prefix(budget).enumerated().map { SelectedRow(index: $1, score: scores[$1], rank: $0 + 1) }
    }
}

extension RandomStreams {
    /// `fttrain select --strategy random`: row i's draw; `kcenter`'s first centre (row −1's stream).
    public static func activeLearningRow(_ i: Int) -> UInt64 { 0xAC7E_0000_0000 &+ UInt64(bitPattern: Int64(i)) }
}
