import Foundation

/// One ended trial, as a line of `study.jsonl`:
/// `{"trial": 7, "state": "pruned", "params": {...}, "rungs": {"1": 0.71}, "evaluations": [0.71],
/// "value": null, "seconds": 12.3, "directory": "trial-0007"}`.
public struct TrialRecord: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case complete, pruned, failed
    }

    public var number: Int
    public var state: State
    public var parameters: [String: ParameterValue]
    /// The metric at each evaluation during training, in order (evaluation k is resource k).
    public var evaluations: [Double] = []
    /// The metric at each ASHA rung the trial reached, by resource.
    public var rungs: [Int: Double] = [:]
    /// The final metric (after training's final evaluation) of a complete trial.
    public var value: Double?
    public var seconds: Double = 0
    /// When the trial started (seconds since 1970), so parallel trials can be seen overlapping.
    public var started: Double = 0
    /// Why a failed trial failed.
    public var error: String?

    public init(number: Int, state: State, parameters: [String: ParameterValue]) {
        self.number = number
        self.state = state
        self.parameters = parameters
    }

    /// The trial's run directory name: `trial-0007`.
    public static func directoryName(_ number: Int) -> String { String(format: "trial-%04d", number) }

    /// What the samplers learn from it (nil for a failed trial, or a pruned one without a value).
    public var observation: TrialObservation? {
        switch state {
        case .complete:
            return value.map { TrialObservation(number: number, parameters: parameters, outcome: .complete($0)) }
        case .pruned:
            guard let last = rungs.keys.max() ?? (evaluations.isEmpty ? nil : evaluations.count) else { return nil }
            let v = rungs[last] ?? evaluations[last - 1]
            return TrialObservation(number: number, parameters: parameters, outcome: .pruned(resource: last, value: v))
        case .failed:
            return nil
        }
    }

    /// The record as a JSON object (NaN written as null).
    public var jsonObject: [String: Any] {
        func number(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
        var object: [String: Any] = [
            "trial": self.number, "state": state.rawValue,
            "params": parameters.mapValues(\.jsonObject),
            "evaluations": evaluations.map(number),
            "rungs": Dictionary(uniqueKeysWithValues: rungs.map { (String($0.key), number($0.value)) }),
            "value": value.map(number) ?? NSNull(), "seconds": seconds, "started": started,
            "directory": Self.directoryName(self.number),
        ]
        if let error { object["error"] = error }
        return object
    }

    /// One `study.jsonl` line (keys sorted, no newline).
    public func jsonLine() throws -> String {
        let data = try JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a `study.jsonl` line; `source` and `line` name it in errors.
    public init(jsonLine text: String, source: String, line: Int) throws {
        func bad(_ message: String) -> ConfigurationError {
            ConfigurationError(source: source, problems: [.init(kind: .malformed, key: nil, message: "line \(line): \(message)")])
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let number = object["trial"] as? Int, number >= 0 else { throw bad("no trial number") }
        guard let stateText = object["state"] as? String, let state = State(rawValue: stateText) else {
            throw bad("state must be one of complete, pruned, failed")
        }
        guard let params = object["params"] as? [String: Any] else { throw bad("no params") }
        var parameters: [String: ParameterValue] = [:]
        for (key, value) in params {
            guard let parsed = ParameterValue(jsonObject: value) else { throw bad("param `\(key)` is not a number, text or list of names") }
            parameters[key] = parsed
        }
        self.init(number: number, state: state, parameters: parameters)
        evaluations = (object["evaluations"] as? [Any] ?? []).map { ($0 as? Double) ?? .nan }
        for (key, value) in object["rungs"] as? [String: Any] ?? [:] {
            guard let resource = Int(key), resource >= 1 else { throw bad("rung `\(key)` is not a number of evaluations") }
            rungs[resource] = (value as? Double) ?? .nan
        }
        self.value = object["value"] as? Double
        seconds = object["seconds"] as? Double ?? 0
        started = object["started"] as? Double ?? 0
        error = object["error"] as? String
    }

    /// Every record of a `study.jsonl` (none when the file does not exist). A later line for the
    /// same trial replaces an earlier one.
    public static func readStudy(_ url: URL) throws -> [TrialRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ConfigurationError(
                source: url.path, problems: [.init(kind: .malformed, key: nil, message: "cannot read the file as UTF-8 text")])
        }
        var byNumber: [Int: TrialRecord] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let record = try TrialRecord(jsonLine: String(line), source: url.path, line: index + 1)
            byNumber[record.number] = record
        }
        return byNumber.values.sorted { $0.number < $1.number }
    }
}
