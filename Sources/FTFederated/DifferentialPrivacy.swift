import FTCore
import Foundation

/// Site-level differential privacy for federated rounds (DP-FedAvg, McMahan et al. 2018): each
/// site's update is clipped to L2 norm `clip`; Gaussian noise of standard deviation
/// `noiseMultiplier · clip` is added to the sum of the sampled sites' updates — by the sites
/// themselves, each a share of variance 1/m, when secure aggregation hides the individual updates
/// from the coordinator. The accountant turns rounds into (ε, δ).
public enum GaussianMechanism {
    /// Scales `update` to L2 norm at most `maxNorm`; returns the norm it had.
    @discardableResult
    public static func clip(_ update: inout [Float], maxNorm: Double) -> Double {
        precondition(maxNorm > 0, "the clipping norm must be positive")
        let norm = update.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        if norm > maxNorm {
            let scale = Float(maxNorm / norm)
            for i in update.indices { update[i] *= scale }
        }
        return norm
    }

    /// The standard deviation one site adds to its clipped update so that the sum over `sites`
    /// sites carries noise of standard deviation `noiseMultiplier · clip` (each adds 1/sites of the variance).
    public static func perSiteStandardDeviation(noiseMultiplier: Double, clip: Double, sites: Int) -> Double {
        precondition(sites > 0)
        return noiseMultiplier * clip / Double(sites).squareRoot()
    }

    /// Adds N(0, standardDeviation²) to every element. Use a generator seeded from the system's
    /// entropy in real runs (`SeededRNG(seed: .random(in:))`); a fixed seed is for tests only.
    public static func addNoise(_ update: inout [Float], standardDeviation: Double, rng: inout SeededRNG) {
        for i in update.indices { update[i] += Float(SitePartition.normal(&rng) * standardDeviation) }
    }
}

/// Rényi-DP accountant of the sampled Gaussian mechanism (Mironov, Talwar and Zhang 2019), as
/// Opacus computes it, over integer orders 2…256: each round adds the RDP of sampling each site
/// with probability `samplingRate` and noise multiplier σ; ε for a δ uses the conversion of Balle
/// et al. 2020 (Opacus's `get_privacy_spent`). Opacus adds fractional orders below 12, which can
/// only lower ε slightly; these figures are an upper bound on its.
public struct PrivacyAccountant: Sendable {
    public static let orders: [Int] = Array(2...64) + [80, 96, 128, 192, 256]
    /// Accumulated RDP at each order.
    public private(set) var rdp: [Double]
    public private(set) var rounds = 0

    public init() { rdp = [Double](repeating: 0, count: Self.orders.count) }

    /// An accountant that continues from saved RDP values (a resumed federation).
    public init(rdp: [Double], rounds: Int) {
        self.rdp = rdp.count == Self.orders.count ? rdp : [Double](repeating: 0, count: Self.orders.count)
        self.rounds = rdp.count == Self.orders.count ? rounds : 0
    }

    /// `rounds` rounds in which each site took part with probability `samplingRate` (1 when all did).
    public mutating func record(samplingRate q: Double, noiseMultiplier sigma: Double, rounds: Int = 1) {
        precondition(q >= 0 && q <= 1 && sigma >= 0 && rounds >= 0)
        for (k, alpha) in Self.orders.enumerated() { rdp[k] += Double(rounds) * Self.rdp(q: q, sigma: sigma, alpha: alpha) }
        self.rounds += rounds
    }

    /// ε at `delta` and the order that achieves it (∞ without noise).
    public func epsilon(delta: Double) -> (epsilon: Double, order: Int) {
        precondition(delta > 0 && delta < 1)
        var best = (epsilon: Double.infinity, order: Self.orders[0])
        for (k, alpha) in Self.orders.enumerated() {
            let a = Double(alpha)
            let eps = rdp[k] - (Foundation.log(delta) + Foundation.log(a)) / (a - 1) + Foundation.log((a - 1) / a)
            if eps < best.epsilon { best = (eps, alpha) }
        }
        return best
    }

    /// RDP of one sampled Gaussian step at integer order `alpha`.
    static func rdp(q: Double, sigma: Double, alpha: Int) -> Double {
        if q == 0 { return 0 }
        if sigma == 0 { return .infinity }
        if q == 1 { return Double(alpha) / (2 * sigma * sigma) }
        // log A_α = log Σ_i C(α, i) q^i (1−q)^(α−i) exp((i² − i) / 2σ²), summed in log space.
        var logA = -Double.infinity
        for i in 0...alpha {
            let term =
                logBinomial(alpha, i) + Double(i) * Foundation.log(q) + Double(alpha - i) * Foundation.log(1 - q)
                + Double(i * i - i) / (2 * sigma * sigma)
            logA = logAdd(logA, term)
        }
        return logA / Double(alpha - 1)
    }

    static func logBinomial(_ n: Int, _ k: Int) -> Double {
        Foundation.lgamma(Double(n + 1)) - Foundation.lgamma(Double(k + 1)) - Foundation.lgamma(Double(n - k + 1))
    }

    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let (a, b) = (min(x, y), max(x, y))
        return a == -.infinity ? b : Foundation.log1p(Foundation.exp(a - b)) + b
    }
}
