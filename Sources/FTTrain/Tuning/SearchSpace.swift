import Foundation
import Yams

/// One sampled value of a tuned setting: what `fttrain tune` writes into a trial's configuration
/// (as the flag text `applyOverrides` reads) and into `study.jsonl` (as JSON).
public enum ParameterValue: Sendable, Equatable, Codable {
    case number(Double)
    case integer(Int)
    case text(String)
    /// A list of names (`lora_target_modules: [query, value]`).
    case list([String])

    /// The value as a command-line flag gives it: `3e-05`, `8`, `cosine`, `query,value`.
    public var flagText: String {
        switch self {
        case .number(let value): return "\(value)"
        case .integer(let value): return "\(value)"
        case .text(let value): return value
        case .list(let names): return names.joined(separator: ",")
        }
    }

    /// The value as a number, for the samplers and the summary (nil for text and lists).
    public var numeric: Double? {
        switch self {
        case .number(let value): return value
        case .integer(let value): return Double(value)
        case .text, .list: return nil
        }
    }

    /// Plain JSON: a number, a string or an array of strings.
    public var jsonObject: Any {
        switch self {
        case .number(let value): return value
        case .integer(let value): return value
        case .text(let value): return value
        case .list(let names): return names
        }
    }

    /// Reads what `jsonObject` wrote (JSONSerialization's numbers: integers stay integers).
    public init?(jsonObject: Any) {
        if let names = jsonObject as? [String] {
            self = .list(names)
        } else if let text = jsonObject as? String {
            self = .text(text)
        } else if let number = jsonObject as? NSNumber {
            let value = number.doubleValue
            let type = String(cString: number.objCType)
            if type == "d" || type == "f" || Double(number.intValue) != value {
                self = .number(value)
            } else {
                self = .integer(number.intValue)
            }
        } else {
            return nil
        }
    }

    /// Equal, or the same number written as an integer and as a float (JSON does not keep `8.0`).
    public func matches(_ other: ParameterValue) -> Bool {
        if self == other { return true }
        if let a = numeric, let b = other.numeric { return a == b }
        return false
    }

    /// Short text for tables: `3e-05`, `[query, value]`.
    public var displayText: String {
        switch self {
        case .number(let value): return String(format: "%.4g", value)
        case .integer(let value): return "\(value)"
        case .text(let value): return value
        case .list(let names): return "[" + names.joined(separator: ", ") + "]"
        }
    }
}

/// How one setting is sampled (Optuna's distributions): `loguniform: [1e-5, 1e-3]`,
/// `uniform: [0, 0.2]`, `int: [1, 4]`, `choice: [8, 16, 32]`.
public enum ParameterDistribution: Sendable, Equatable {
    case uniform(low: Double, high: Double)
    /// Uniform in log space; `low` > 0.
    case logUniform(low: Double, high: Double)
    /// Integers `low ... high`, uniform.
    case integer(low: Int, high: Int)
    /// One of the listed values, uniform (TPE: categorical).
    case choice([ParameterValue])
}

/// One tuned setting: its configuration key and its distribution.
public struct SearchParameter: Sendable, Equatable {
    public let name: String
    public let distribution: ParameterDistribution
}

/// What `--space` holds: the tuned settings in file order, and the study's own settings.
///
/// ```yaml
/// sampler: tpe              # random | tpe
/// metric: eval_f1_macro     # an evaluation metric (eval_ prefix optional)
/// direction: maximize       # maximize | minimize
/// sampler_seed: 42
/// n_startup_trials: 10      # TPE: random trials before the estimators take over
/// pruner: asha              # asha | none
/// min_resource: 1           # ASHA: evaluations before the first rung
/// reduction_factor: 3       # ASHA: 1 in this many trials goes on at each rung
/// learning_rate: {loguniform: [1e-5, 1e-3]}
/// per_device_train_batch_size: {choice: [8, 16, 32]}
/// lora_target_modules: {choice: [[query, value], [query, key, value, dense]]}
/// ```
public struct SearchSpace: Sendable {
    public enum SamplerKind: String, Sendable, CaseIterable { case random, tpe }
    public enum Direction: String, Sendable, CaseIterable { case maximize, minimize }
    public enum PrunerKind: String, Sendable, CaseIterable { case asha, none }

    public var parameters: [SearchParameter] = []
    public var sampler: SamplerKind = .tpe
    /// The evaluation key that ranks trials, `eval_` prefixed.
    public var metric = "eval_f1_macro"
    public var direction: Direction = .maximize
    public var samplerSeed: UInt64 = 42
    public var startupTrials = 10
    public var pruner: PrunerKind = .asha
    public var minResource = 1
    public var reductionFactor = 3

    public init(parameters: [SearchParameter] = []) { self.parameters = parameters }

    /// The study settings a space file may hold besides the tuned keys.
    public static let studyKeys = [
        "sampler", "metric", "direction", "sampler_seed", "n_startup_trials", "pruner", "min_resource", "reduction_factor",
    ]

    /// Reads a space file; every problem (unknown key, bad distribution) is collected and thrown
    /// as one `ConfigurationError` naming the file.
    public static func load(path: String) throws -> SearchSpace {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(
                source: path, problems: [ConfigurationProblem(kind: .malformed, key: nil, message: "cannot read the file")])
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses the YAML text of a space file; `source` names it in messages.
    public static func parse(yaml: String, source: String = "space") throws -> SearchSpace {
        var problems: [ConfigurationProblem] = []
        func problem(_ key: String?, _ message: String, _ kind: ConfigurationProblem.Kind = .invalidValue) {
            problems.append(ConfigurationProblem(kind: kind, key: key, message: message))
        }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw ConfigurationError(source: source, problems: [.init(kind: .malformed, key: nil, message: "not valid YAML: \(error)")])
        }
        guard let mapping = root?.mapping, !mapping.isEmpty else {
            throw ConfigurationError(
                source: source, problems: [.init(kind: .malformed, key: nil, message: "expected a mapping of settings to distributions")])
        }
        var space = SearchSpace()
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                problem(nil, "a key is not a string")
                continue
            }
            if studyKeys.contains(key) {
                space.readStudySetting(key, value, problem)
                continue
            }
            guard let setting = ConfigurationKey.named(key) else {
                let suggestion = KeySuggestion.suggestion(for: key, among: ConfigurationKey.all.map(\.name) + studyKeys)
                problem(
                    key, "unknown setting `\(key)`" + (suggestion.map { "; did you mean `\($0)`?" } ?? ""), .unknownKey)
                continue
            }
            if let distribution = readDistribution(key: key, setting: setting, value, problem) {
                space.parameters.append(SearchParameter(name: key, distribution: distribution))
            }
        }
        if space.parameters.isEmpty && problems.isEmpty { problem(nil, "no setting to tune: add e.g. `learning_rate: {loguniform: [1e-5, 1e-3]}`") }
        if !problems.isEmpty { throw ConfigurationError(source: source, problems: problems) }
        return space
    }

    private mutating func readStudySetting(_ key: String, _ value: Node, _ problem: (String?, String, ConfigurationProblem.Kind) -> Void) {
        func bad(_ expected: String) { problem(key, "`\(key)` must be \(expected), found `\(value.string ?? "\(value)")`", .wrongType) }
        func choice<T: RawRepresentable & CaseIterable>(_: T.Type) -> T? where T.RawValue == String {
            guard let text = value.string, let parsed = T(rawValue: text) else {
                bad("one of " + T.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "))
                return nil
            }
            return parsed
        }
        func positive(_ minimum: Int, _ maximum: Int = Int(Int32.max)) -> Int? {
            guard let number = value.int, number >= minimum, number <= maximum else {
                bad("an integer in \(minimum)...\(maximum)")
                return nil
            }
            return number
        }
        switch key {
        case "sampler": sampler = choice(SamplerKind.self) ?? sampler
        case "direction": direction = choice(Direction.self) ?? direction
        case "pruner": pruner = choice(PrunerKind.self) ?? pruner
        case "metric":
            guard let text = value.string, !text.isEmpty else { return bad("a metric name such as eval_f1_macro") }
            metric = text.hasPrefix("eval_") ? text : "eval_" + text
        case "sampler_seed": samplerSeed = positive(0).map { UInt64($0) } ?? samplerSeed
        case "n_startup_trials": startupTrials = positive(0) ?? startupTrials
        case "min_resource": minResource = positive(1, 1_000_000) ?? minResource
        case "reduction_factor": reductionFactor = positive(2, 1000) ?? reductionFactor
        default: break
        }
    }

    /// `{loguniform: [a, b]}` and the others, checked against the setting's type.
    private static func readDistribution(
        key: String, setting: ConfigurationKey, _ node: Node, _ problem: (String?, String, ConfigurationProblem.Kind) -> Void
    ) -> ParameterDistribution? {
        let kinds = "`uniform`, `loguniform`, `int` or `choice`"
        guard let mapping = node.mapping, mapping.count == 1, let first = mapping.first, let kind = first.key.string else {
            problem(key, "`\(key)` must be a distribution: one of \(kinds), e.g. `{loguniform: [1e-5, 1e-3]}`", .wrongType)
            return nil
        }
        let argument = first.value
        let numeric = setting.expected.hasPrefix("a number")
        let integral = setting.expected.hasPrefix("an integer")
        func bounds() -> (Double, Double)? {
            guard let items = argument.sequence, items.count == 2, let low = items[0].float, let high = items[1].float,
                low.isFinite, high.isFinite
            else {
                problem(key, "`\(key): {\(kind): …}` needs two numbers [low, high]", .wrongType)
                return nil
            }
            guard low < high else {
                problem(key, "`\(key): {\(kind): [\(low), \(high)]}`: low must be below high", .invalidValue)
                return nil
            }
            return (low, high)
        }
        switch kind {
        case "uniform", "loguniform":
            guard numeric else {
                problem(
                    key, "`\(key)` is \(setting.expected): `\(kind)` draws fractional numbers; use `int` or `choice`", .wrongType)
                return nil
            }
            guard let (low, high) = bounds() else { return nil }
            if kind == "uniform" { return .uniform(low: low, high: high) }
            guard low > 0 else {
                problem(key, "`\(key): {loguniform: [\(low), \(high)]}`: low must be above 0", .invalidValue)
                return nil
            }
            return .logUniform(low: low, high: high)
        case "int":
            guard numeric || integral else {
                problem(key, "`\(key)` is \(setting.expected): `int` draws integers; use `choice`", .wrongType)
                return nil
            }
            guard let items = argument.sequence, items.count == 2, let low = items[0].int, let high = items[1].int else {
                problem(key, "`\(key): {int: …}` needs two integers [low, high]", .wrongType)
                return nil
            }
            guard low <= high, !high.subtractingReportingOverflow(low).overflow, high - low < Int(Int32.max) else {
                problem(key, "`\(key): {int: [\(low), \(high)]}`: low must not be above high (nor 2^31 below it)", .invalidValue)
                return nil
            }
            return .integer(low: low, high: high)
        case "choice":
            guard let items = argument.sequence, !items.isEmpty else {
                problem(key, "`\(key): {choice: …}` needs a non-empty list of values", .wrongType)
                return nil
            }
            var values: [ParameterValue] = []
            for item in items {
                if let list = item.sequence {
                    let names = list.compactMap(\.string)
                    guard names.count == list.count else {
                        problem(key, "`\(key)`: a choice that is a list must hold names only", .wrongType)
                        return nil
                    }
                    values.append(.list(names))
                } else if let scalar = item.scalar {
                    if integral, let number = item.int {
                        values.append(.integer(number))
                    } else if numeric, let number = item.float {
                        values.append(.number(number))
                    } else {
                        values.append(.text(scalar.string))
                    }
                } else {
                    problem(key, "`\(key)`: a choice must be a value or a list of names", .wrongType)
                    return nil
                }
            }
            return .choice(values)
        default:
            problem(key, "`\(key)`: unknown distribution `\(kind)`; expected \(kinds)", .wrongType)
            return nil
        }
    }

    /// Every value each setting can take at its ends (both bounds, every choice) applied to `base`
    /// and validated, so a value the trainer would refuse is reported before any trial runs.
    public func check(against base: TrainingConfiguration, source: String = "space") throws {
        var problems: [ConfigurationProblem] = []
        for parameter in parameters {
            let values: [ParameterValue]
            switch parameter.distribution {
            case .uniform(let low, let high), .logUniform(let low, let high): values = [.number(low), .number(high)]
            case .integer(let low, let high): values = [.integer(low), .integer(high)]
            case .choice(let choices): values = choices
            }
            for value in values {
                do {
                    var trial = try base.applyingOverrides(["--" + parameter.name, value.flagText])
                    if trial.outputDir == nil { trial.outputDir = "trial" }
                    let found = trial.validationProblems().filter { $0.key == parameter.name }
                    problems += found.map {
                        ConfigurationProblem(
                            kind: $0.kind, key: parameter.name,
                            message: "`\(parameter.name)` at \(value.displayText), an end of its distribution: " + $0.message)
                    }
                } catch let error as ConfigurationError {
                    problems += error.problems.map {
                        ConfigurationProblem(
                            kind: $0.kind, key: parameter.name, message: "`\(parameter.name)` cannot take \(value.displayText): " + $0.message)
                    }
                }
            }
        }
        if pruner == .asha && base.evalStrategy == .no {
            problems.append(
                ConfigurationProblem(
                    kind: .invalidValue, key: "pruner",
                    message: "`pruner: asha` stops trials at evaluations, but the base configuration has `eval_strategy: no`"))
        }
        if !problems.isEmpty { throw ConfigurationError(source: source, problems: problems) }
    }

    /// Whether `a` is a better metric value than `b` in this study's direction (NaN is never better).
    public func isBetter(_ a: Double, than b: Double) -> Bool {
        guard !a.isNaN else { return false }
        if b.isNaN { return true }
        return direction == .maximize ? a > b : a < b
    }
}
