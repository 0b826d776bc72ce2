import FTCore
import FTModel
import Foundation

/// Per-label thresholds of a multi-label model: label k is predicted when its sigmoid probability
/// is at least `thresholds[k]`.
///
/// They come from the configuration (`threshold`, `thresholds`), or, with `tune_thresholds`, from
/// the validation split (`tune`), and travel with the exported model in `thresholds.json` beside
/// `config.json` (a flat JSON object, label → threshold, e.g. `{"anger": 0.62, "joy": 0.31}`;
/// transformers never reads it), which `fttrain predict` and `serve` apply.
public enum LabelThresholds {
    /// The file in a model directory.
    public static let fileName = "thresholds.json"

    /// Each label's threshold from the settings: `threshold` for all, replaced by a number in
    /// `thresholds`, or per label by its mapping.
    /// - Throws: `ConfigurationError` when the mapping names a label the data does not have.
    public static func resolve(threshold: Double, setting: LabelThresholdSetting?, labels: [String]) throws -> [Double] {
        switch setting {
        case nil: return [Double](repeating: threshold, count: labels.count)
        case .uniform(let value)?: return [Double](repeating: value, count: labels.count)
        case .byLabel(let map)?:
            if let unknown = map.keys.sorted().first(where: { !labels.contains($0) }) {
                throw ConfigurationError(
                    source: nil,
                    problems: [
                        ConfigurationProblem(
                            kind: .invalidValue, key: "thresholds",
                            message:
                                "`thresholds` names label \"\(unknown)\", which the training data does not have (\(labels.joined(separator: ", ")))")
                    ])
            }
            return labels.map { map[$0] ?? threshold }
        }
    }

    /// One label's threshold picked on held-out rows as scikit-learn users pick it by hand:
    /// `precision_recall_curve` over the label's probabilities, F1 = 2·P·R / (P + R) at each
    /// distinct probability (predicting the rows at or above it), and the probability where F1 is
    /// largest (the lowest of equal maxima, `np.argmax` over increasing thresholds). Nil when no
    /// row has the label (no F1 to maximise).
    /// - Returns: the threshold and its F1.
    public static func bestF1Threshold(truth: [Bool], probabilities: [Double]) -> (threshold: Double, f1: Double)? {
        precondition(truth.count == probabilities.count, "one probability per row")
        let positives = truth.filter { $0 }.count
        guard positives > 0 else { return nil }
        // Descending probability: lowering the cut past each distinct value adds its rows.
        let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
        var best: (threshold: Double, f1: Double)?
        var tp = 0, fp = 0, i = 0
        while i < order.count {
            let cut = probabilities[order[i]]
            while i < order.count && probabilities[order[i]] == cut {
                if truth[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            // sklearn's arithmetic: precision tp / (tp + fp), recall tp / P, then 2pr / (p + r).
            let precision = Double(tp) / Double(tp + fp), recall = Double(tp) / Double(positives)
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            // Walking down, an equal F1 at a lower cut is the one np.argmax takes.
            if best == nil || f1 >= best!.f1 { best = (cut, f1) }
        }
        return best
    }

    /// Every label's threshold tuned on (N, L) `truth` and `probabilities` (`bestF1Threshold`);
    /// a label with no positive row keeps its `fallback`. A tuned probability of exactly 0 or 1
    /// (a saturated sigmoid) is moved just inside (0, 1): for float32 probabilities, ≥ 1⁻ is ≥ 1.
    /// - Returns: the thresholds and, per label, the F1 reached (nil where the fallback was kept).
    public static func tune(truth: [Int32], probabilities: [Float], labels L: Int, fallback: [Double]) -> (thresholds: [Double], f1: [Double?]) {
        precondition(L > 0 && truth.count == probabilities.count && truth.count % L == 0 && fallback.count == L, "(N, L) rows")
        let N = truth.count / L
        var thresholds = fallback
        var f1 = [Double?](repeating: nil, count: L)
        for k in 0..<L {
            let found = bestF1Threshold(
                truth: (0..<N).map { truth[$0 * L + k] != 0 }, probabilities: (0..<N).map { Double(probabilities[$0 * L + k]) })
            guard let found else { continue }
            thresholds[k] = min(max(found.threshold, Double.leastNonzeroMagnitude), Double(1).nextDown)
            f1[k] = found.f1
        }
        return (thresholds, f1)
    }

    /// Writes `thresholds.json` (label → threshold, keys sorted) into `directory`.
    public static func write(_ thresholds: [Double], labels: [String], to directory: URL) throws {
        let object = Dictionary(uniqueKeysWithValues: zip(labels, thresholds))
        var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        data.append(0x0A)
        try data.write(to: directory.appendingPathComponent(fileName), options: .atomic)
    }

    /// The thresholds of `thresholds.json` in a model directory, by label (labels it does not
    /// name are absent), or nil when the directory has no such file.
    /// - Throws: `ModelError.badInput` naming the file when it is not a JSON object of numbers in
    ///   (0, 1) keyed by the model's labels.
    public static func read(modelDirectory: URL, labels: [String]) throws -> [String: Double]? {
        let url = modelDirectory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw ModelError.badInput("\(url.path): not a JSON object of label → threshold") }
        var map: [String: Double] = [:]
        for (label, value) in object {
            guard labels.contains(label) else {
                throw ModelError.badInput("\(url.path): label \"\(label)\" is not one of the model's labels (\(labels.joined(separator: ", ")))")
            }
            guard let number = value as? NSNumber, !(value is Bool), number.doubleValue > 0, number.doubleValue < 1 else {
                throw ModelError.badInput("\(url.path): the threshold of \"\(label)\" must be a number in (0, 1), found \(value)")
            }
            map[label] = number.doubleValue
        }
        return map
    }

    /// A prediction's thresholds: the model directory's `thresholds.json` (labels it does not
    /// name: 0.5), replaced for all labels by `threshold` when given, then per label by `overrides`
    /// (`--thresholds`).
    /// - Throws: when the file is bad, or `overrides` names an unknown label or a value outside (0, 1).
    public static func forPrediction(
        modelDirectory: URL, labels: [String], threshold: Double?, overrides: LabelThresholdSetting?
    ) throws -> [Double] {
        var values = [Double](repeating: 0.5, count: labels.count)
        if let stored = try read(modelDirectory: modelDirectory, labels: labels) {
            values = labels.map { stored[$0] ?? 0.5 }
        }
        var given: [Double] = []
        if let threshold {
            values = values.map { _ in threshold }
            given.append(threshold)
        }
        switch overrides {
        case nil: break
        case .uniform(let value)?:
            values = values.map { _ in value }
            given.append(value)
        case .byLabel(let map)?:
            if let unknown = map.keys.sorted().first(where: { !labels.contains($0) }) {
                throw ModelError.badInput("--thresholds names label \"\(unknown)\"; the model's labels are \(labels.joined(separator: ", "))")
            }
            for (k, label) in labels.enumerated() { if let value = map[label] { values[k] = value } }
            given += map.values
        }
        if let bad = given.first(where: { !($0 > 0 && $0 < 1) }) {
            throw ModelError.badInput("a threshold must be in (0, 1), found \(bad)")
        }
        return values
    }
}
