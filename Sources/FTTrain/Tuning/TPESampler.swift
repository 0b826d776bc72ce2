import FTCore
import Foundation

/// The Tree-structured Parzen Estimator as Optuna's `TPESampler()` runs by default (univariate,
/// prior on, magic clip on, endpoints not considered, 24 EI candidates):
///
/// 1. the first `startupTrials` trials (complete and pruned together) are drawn at random;
/// 2. then the ended trials are split: the best `γ(n) = min(⌈0.1 n⌉, 25)` ("below", good) —
///    complete trials by value first, then pruned ones by how far they got and their value there —
///    and the rest ("above");
/// 3. per parameter, a Parzen estimator (a weighted mixture of truncated normals, one per
///    observation plus a prior over the whole range; for a choice, smoothed category weights) is
///    fitted to each set: l(x) on the good, g(x) on the rest;
/// 4. 24 candidates are drawn from l and the one with the largest log l(x) − log g(x) — the
///    expected-improvement ratio — is proposed.
public struct TPESampler: ParameterSampler {
    public let space: SearchSpace
    public let startupTrials: Int
    public let candidates: Int
    public let priorWeight: Double

    public init(space: SearchSpace, startupTrials: Int = 10, candidates: Int = 24, priorWeight: Double = 1.0) {
        self.space = space
        self.startupTrials = startupTrials
        self.candidates = candidates
        self.priorWeight = priorWeight
    }

    /// Optuna's `default_gamma`.
    static func gamma(_ n: Int) -> Int { min(Int((0.1 * Double(n)).rounded(.up)), 25) }

    /// Optuna's `default_weights`: equal for the newest 25, a ramp from 1/n below them.
    static func weights(_ n: Int) -> [Double] {
        guard n >= 25 else { return Array(repeating: 1, count: n) }
        // numpy.linspace(1 / n, 1, n - 25), then 25 ones.
        let ramp = n - 25, start = 1.0 / Double(n)
        var rising: [Double] = []
        for i in 0..<ramp { rising.append(ramp == 1 ? start : start + (1 - start) * Double(i) / Double(ramp - 1)) }
        return rising + Array(repeating: 1, count: 25)
    }

    public func sample(trial number: Int, history: [TrialObservation]) -> [String: ParameterValue] {
        guard history.count >= max(startupTrials, 1) else {
            return RandomSampler(space: space).sample(trial: number, history: history)
        }
        var rng = space.generator(trial: number)
        let (below, above) = split(history)
        var values: [String: ParameterValue] = [:]
        for parameter in space.parameters {
            let d = parameter.distribution
            let good = below.compactMap { $0.parameters[parameter.name].flatMap { InternalCoordinate.encode($0, d) } }
            let bad = above.compactMap { $0.parameters[parameter.name].flatMap { InternalCoordinate.encode($0, d) } }
            let l = ParzenEstimator(observations: good, distribution: d, priorWeight: priorWeight)
            let g = ParzenEstimator(observations: bad, distribution: d, priorWeight: priorWeight)
            var best = l.sample(&rng), bestScore = -Double.infinity
            for _ in 0..<candidates {
                let x = l.sample(&rng)
                let score = l.logDensity(x) - g.logDensity(x)
                if score > bestScore { (best, bestScore) = (x, score) }
            }
            values[parameter.name] = InternalCoordinate.decode(best, d)
        }
        return values
    }

    /// The good and the other trials, each in trial order (so the weights' ramp favours the newest).
    func split(_ history: [TrialObservation]) -> (below: [TrialObservation], above: [TrialObservation]) {
        let sign: Double = space.direction == .maximize ? -1 : 1
        let complete = history.compactMap { t -> (TrialObservation, Double)? in
            if case .complete(let v) = t.outcome { return (t, v.isNaN ? .infinity : sign * v) }
            return nil
        }.sorted { ($0.1, $0.0.number) < ($1.1, $1.0.number) }.map(\.0)
        let pruned = history.compactMap { t -> (TrialObservation, Int, Double)? in
            if case .pruned(let r, let v) = t.outcome { return (t, r, v.isNaN ? .infinity : sign * v) }
            return nil
        }.sorted { (-$0.1, $0.2, $0.0.number) < (-$1.1, $1.2, $1.0.number) }.map(\.0)
        let n = Self.gamma(history.count)
        let ordered = complete + pruned
        let below = Array(ordered.prefix(n)).sorted { $0.number < $1.number }
        let above = Array(ordered.dropFirst(n)).sorted { $0.number < $1.number }
        return (below, above)
    }
}

/// One parameter's Parzen estimator over its internal coordinate (Optuna's `_ParzenEstimator`,
/// univariate).
struct ParzenEstimator {
    let distribution: ParameterDistribution
    /// Mixture weights (sum 1): one per observation, the prior's last.
    let weights: [Double]
    /// Numeric: each component's centre and width, and the truncation range.
    var mus: [Double] = [], sigmas: [Double] = []
    var low = 0.0, high = 0.0
    /// Choice: each component's category probabilities.
    var categoryWeights: [[Double]] = []

    init(observations: [Double], distribution: ParameterDistribution, priorWeight: Double) {
        self.distribution = distribution
        let n = observations.count
        var w = TPESampler.weights(n)
        w = n == 0 ? [1] : w + [priorWeight]
        let total = w.reduce(0, +)
        weights = w.map { $0 / total }
        switch distribution {
        case .choice(let choices):
            let k = choices.count
            if n == 0 {
                categoryWeights = [Array(repeating: 1 / Double(k), count: k)]
            } else {
                let kernels = n + 1
                categoryWeights = (0..<kernels).map { row in
                    var p = Array(repeating: priorWeight / Double(kernels), count: k)
                    if row < n { p[min(max(Int(observations[row]), 0), k - 1)] += 1 }
                    let sum = p.reduce(0, +)
                    return p.map { $0 / sum }
                }
            }
        case .uniform(let a, let b): setNumeric(observations, low: a, high: b, step: 0)
        case .logUniform(let a, let b): setNumeric(observations, low: log(a), high: log(b), step: 0)
        case .integer(let a, let b): setNumeric(observations, low: Double(a), high: Double(b), step: 1)
        }
    }

    private mutating func setNumeric(_ observations: [Double], low: Double, high: Double, step: Double) {
        let lo = low - step / 2, hi = high + step / 2
        (self.low, self.high) = (lo, hi)
        let order = observations.indices.sorted { observations[$0] < observations[$1] }
        var sorted: [Double] = [lo]
        for index in order { sorted.append(observations[index]) }
        sorted.append(hi)
        var sortedSigmas: [Double] = []
        for i in stride(from: 1, to: sorted.count - 1, by: 1) {
            let left: Double = sorted[i] - sorted[i - 1], right: Double = sorted[i + 1] - sorted[i]
            sortedSigmas.append(max(left, right))
        }
        if sorted.count >= 4 {  // consider_endpoints=False
            sortedSigmas[0] = sorted[2] - sorted[1]
            sortedSigmas[sortedSigmas.count - 1] = sorted[sorted.count - 2] - sorted[sorted.count - 3]
        }
        var sigmas = Array(repeating: 0.0, count: observations.count)
        for (rank, index) in order.enumerated() { sigmas[index] = sortedSigmas[rank] }
        let maxSigma = hi - lo
        let minSigma = maxSigma / min(100, 1 + Double(observations.count))  // consider_magic_clip
        sigmas = sigmas.map { min(max($0, minSigma), maxSigma) }
        mus = observations + [(lo + hi) / 2]
        self.sigmas = sigmas + [maxSigma]
        if observations.isEmpty { (mus, self.sigmas) = ([(lo + hi) / 2], [maxSigma]) }
    }

    /// A draw: a component by weight, then its kernel (truncated normal by rejection; the
    /// acceptance is at least about a third since every centre lies in the range).
    func sample(_ rng: inout SeededRNG) -> Double {
        var u = rng.nextDouble(), component = weights.count - 1
        for (i, w) in weights.enumerated() {
            if u < w {
                component = i
                break
            }
            u -= w
        }
        if case .choice = distribution {
            var v = rng.nextDouble()
            let p = categoryWeights[component]
            for (i, q) in p.enumerated() {
                if v < q { return Double(i) }
                v -= q
            }
            return Double(p.count - 1)
        }
        let mu = mus[component], sigma = sigmas[component]
        for _ in 0..<1000 {
            let u1 = max(rng.nextDouble(), 1e-300), u2 = rng.nextDouble()
            let x = mu + sigma * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            if x >= low && x <= high { return x }
        }
        return min(max(mu, low), high)
    }

    /// log of the mixture's density (for `int`, probability mass of the rounded value) at `x`.
    func logDensity(_ x: Double) -> Double {
        var terms: [Double] = []
        terms.reserveCapacity(weights.count)
        if case .choice = distribution {
            let index = Int(x)
            for (k, w) in weights.enumerated() { terms.append(log(w) + log(categoryWeights[k][index])) }
        } else {
            let discrete: Bool
            if case .integer = distribution { discrete = true } else { discrete = false }
            for k in weights.indices {
                let mu = mus[k], s = sigmas[k]
                let normaliser = Self.cdf((high - mu) / s) - Self.cdf((low - mu) / s)
                let density: Double
                if discrete {
                    let r = x.rounded()
                    density = log(max(Self.cdf((r + 0.5 - mu) / s) - Self.cdf((r - 0.5 - mu) / s), 1e-300))
                } else {
                    let z = (x - mu) / s
                    density = -0.5 * z * z - log(s * (2 * Double.pi).squareRoot())
                }
                terms.append(log(weights[k]) + density - log(max(normaliser, 1e-300)))
            }
        }
        let top = terms.max() ?? -.infinity
        guard top.isFinite else { return top }
        return top + log(terms.reduce(0) { $0 + exp($1 - top) })
    }

    static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
}
