import FTCore
import Foundation

/// What a sampler learns from a trial that has ended: its values and how far it got.
public struct TrialObservation: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// Finished: `value` is the final metric.
        case complete(Double)
        /// Stopped by the pruner after `resource` evaluations, where the metric was `value`.
        case pruned(resource: Int, value: Double)
    }
    public var number: Int
    public var parameters: [String: ParameterValue]
    public var outcome: Outcome

    public init(number: Int, parameters: [String: ParameterValue], outcome: Outcome) {
        self.number = number
        self.parameters = parameters
        self.outcome = outcome
    }
}

/// Proposes the settings of a trial. A proposal depends only on the space, the trial's number
/// and the observations handed in, never on earlier calls, so a resumed study draws the same
/// values as an uninterrupted one (the random stream is re-derived from the trial number).
public protocol ParameterSampler: Sendable {
    func sample(trial number: Int, history: [TrialObservation]) -> [String: ParameterValue]
}

extension SearchSpace {
    /// The space's sampler (`sampler: random|tpe`), seeded with `sampler_seed`.
    public func makeSampler() -> any ParameterSampler {
        switch sampler {
        case .random: return RandomSampler(space: self)
        case .tpe: return TPESampler(space: self, startupTrials: startupTrials)
        }
    }

    /// The random stream of trial `number`.
    func generator(trial number: Int) -> SeededRNG {
        SeededRNG(seed: samplerSeed, stream: 0x7E5E_0000 &+ UInt64(number))
    }
}

extension SeededRNG {
    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Independent uniform draws from each distribution (Optuna's `RandomSampler`).
public struct RandomSampler: ParameterSampler {
    public let space: SearchSpace

    public init(space: SearchSpace) { self.space = space }

    public func sample(trial number: Int, history: [TrialObservation]) -> [String: ParameterValue] {
        var rng = space.generator(trial: number)
        var values: [String: ParameterValue] = [:]
        for parameter in space.parameters { values[parameter.name] = Self.draw(parameter.distribution, &rng) }
        return values
    }

    static func draw(_ distribution: ParameterDistribution, _ rng: inout SeededRNG) -> ParameterValue {
        switch distribution {
        case .uniform(let low, let high):
            return .number(significant(low + (high - low) * rng.nextDouble()))
        case .logUniform(let low, let high):
            return .number(significant(exp(log(low) + (log(high) - log(low)) * rng.nextDouble())))
        case .integer(let low, let high):
            return .integer(low + Int(rng.next() % UInt64(high - low + 1)))
        case .choice(let choices):
            return choices[Int(rng.next() % UInt64(choices.count))]
        }
    }
}

/// The internal coordinate the estimators work in: the value for `uniform`, its logarithm for
/// `loguniform`, the integer for `int`, the index for `choice`.
enum InternalCoordinate {
    static func encode(_ value: ParameterValue, _ distribution: ParameterDistribution) -> Double? {
        switch distribution {
        case .uniform: return value.numeric
        case .logUniform: return value.numeric.flatMap { $0 > 0 ? log($0) : nil }
        case .integer: return value.numeric
        case .choice(let choices): return choices.firstIndex { $0.matches(value) }.map(Double.init)
        }
    }

    static func decode(_ x: Double, _ distribution: ParameterDistribution) -> ParameterValue {
        switch distribution {
        case .uniform(let low, let high): return .number(significant(min(max(x, low), high)))
        case .logUniform(let low, let high): return .number(significant(min(max(exp(x), low), high)))
        case .integer(let low, let high): return .integer(min(max(Int(x.rounded()), low), high))
        case .choice(let choices): return choices[min(max(Int(x), 0), choices.count - 1)]
        }
    }
}

/// `x` to 12 significant digits: sampled values read well in configurations and tables, and
/// survive any JSON writer exactly (Foundation's JSONSerialization on Linux drops the last digit
/// of a full-precision double, which would make a resumed study's values differ in the last bit).
func significant(_ x: Double) -> Double {
    Double(String(format: "%.12g", x)) ?? x
}
