import Foundation
import Yams

/// What a run directory holds, as the report reads it: every file is optional (a causal-LM run has
/// no confusion matrix, a federated run no `log.jsonl`), but a file that is there and malformed is
/// an error naming the file and the line.
///
/// Files read: `log.jsonl` (training and evaluation records), `metrics.json`,
/// `training_config.yaml`, `confusion_matrix.csv`, `errors.jsonl`, `predictions.jsonl` (every
/// example of the reported split with its probabilities, for the ROC curves), `data/*.jsonl` (sizes
/// per split and label), `lineage.json`, and a federation's `rounds.jsonl`.
public struct RunArtifacts {
    /// One misclassified example of `errors.jsonl`.
    public struct ErrorExample {
        public var text: String
        public var label: String
        public var predicted: String
        /// The probability of the predicted label.
        public var confidence: Double
        public var source: String?
    }

    /// One example of `predictions.jsonl`: its true label and every label's probability.
    public struct ScoredExample {
        public var label: String
        public var probabilities: [String: Double]
    }

    /// The run's name in the report: its directory's last component.
    public var name: String
    public var directory: URL
    /// `log.jsonl`'s records, numeric fields only, in order.
    public var log: [[String: Double]] = []
    public var metrics: [String: Double] = [:]
    /// `training_config.yaml`'s keys and values as written (scalars as text, lists and maps as YAML).
    public var settings: [(key: String, value: String)] = []
    /// The confusion matrix's class names and counts `[true][predicted]`.
    public var classNames: [String] = []
    public var confusion: [[Int]] = []
    public var errors: [ErrorExample] = []
    public var scored: [ScoredExample] = []
    /// Examples per split (`train`, `validation`, `test`) and label.
    public var dataSizes: [(split: String, counts: [String: Int])] = []
    /// `lineage.json` pretty-printed, when present.
    public var lineage: String?
    /// `rounds.jsonl`'s records (a federation's), as JSON objects.
    public var rounds: [[String: Any]] = []
    /// From `trace.json` (`trace: true`): per rank, the seconds spent in each phase of the
    /// training track (compute, all-reduce wait, data, optimizer, evaluation, checkpoint) and the steps.
    public var timeSplit: [(rank: Int, seconds: [String: Double], steps: Int)] = []

    /// `metric_for_best_model` as evaluation records key it, and whether larger is better.
    public var bestMetric: (key: String, greaterIsBetter: Bool) {
        let setting = settings.first { $0.key == "metric_for_best_model" }?.value
        let metric = setting.flatMap { $0 == "null" || $0.isEmpty ? nil : $0 } ?? "loss"
        let key = metric.hasPrefix("eval_") ? metric : "eval_" + metric
        let greater = settings.first { $0.key == "greater_is_better" }?.value
        return (key, greater == "true" ? true : greater == "false" ? false : !metric.hasSuffix("loss"))
    }

    public init(name: String, directory: URL) {
        self.name = name
        self.directory = directory
    }

    /// Reads every known file of `directory`.
    /// - Throws: `ReportError` when the directory is missing, holds none of the run files, or a
    ///   file is malformed.
    public static func read(_ directory: URL) throws -> RunArtifacts {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError(path: directory.path, message: "no such run directory")
        }
        var run = RunArtifacts(name: directory.standardizedFileURL.lastPathComponent, directory: directory)
        let known = ["log.jsonl", "metrics.json", "rounds.jsonl", "training_config.yaml"]
        guard known.contains(where: { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }) else {
            throw ReportError(path: directory.path, message: "not a run directory: none of \(known.joined(separator: ", ")) is there")
        }
        run.log = try jsonLines("log.jsonl", in: directory).map { $0.compactMapValues(number) }
        if let object = try jsonObject("metrics.json", in: directory) {
            run.metrics = object.compactMapValues(number)
        }
        run.settings = try readSettings(directory)
        if let text = try text("confusion_matrix.csv", in: directory) {
            (run.classNames, run.confusion) = try parseConfusion(text, path: directory.appendingPathComponent("confusion_matrix.csv").path)
        }
        run.errors = try jsonLines("errors.jsonl", in: directory).map { object in
            let predicted = object["predicted"] as? String ?? ""
            let probabilities = object["probabilities"] as? [String: Any] ?? [:]
            return ErrorExample(
                text: object["text"] as? String ?? "", label: object["label"] as? String ?? "", predicted: predicted,
                confidence: probabilities[predicted].flatMap(number) ?? .nan, source: object["source"] as? String)
        }
        run.scored = try jsonLines("predictions.jsonl", in: directory).map { object in
            ScoredExample(
                label: object["label"] as? String ?? "",
                probabilities: (object["probabilities"] as? [String: Any] ?? [:]).compactMapValues(number))
        }
        for split in ["train", "validation", "test"] {
            let records = try jsonLines("data/\(split).jsonl", in: directory)
            guard !records.isEmpty else { continue }
            var counts: [String: Int] = [:]
            for record in records { counts[record["label"].map { "\($0)" } ?? "(none)", default: 0] += 1 }
            run.dataSizes.append((split, counts))
        }
        if let data = try? Data(contentsOf: directory.appendingPathComponent("lineage.json")) {
            let object = try parseJSON(data, path: directory.appendingPathComponent("lineage.json").path)
            run.lineage = String(
                decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                as: UTF8.self)
        }
        run.rounds = try jsonLines("rounds.jsonl", in: directory)
        if let trace = try jsonObject("trace.json", in: directory) {
            run.timeSplit = timeSplit(trace["traceEvents"] as? [[String: Any]] ?? [])
        }
        return run
    }

    /// The phases of the training track per rank, by span category (`compute` is forward, loss and
    /// backward; the model's `layer` spans nest inside those and are not counted again; the
    /// all-reduce wait excludes buckets, which nest inside it when not overlapped).
    static func timeSplit(_ events: [[String: Any]]) -> [(rank: Int, seconds: [String: Double], steps: Int)] {
        var byRank: [Int: (seconds: [String: Double], steps: Int)] = [:]
        for event in events where event["ph"] as? String == "X" && event["tid"] as? Int == 0 {
            guard let rank = event["pid"] as? Int, let name = event["name"] as? String, let duration = event["dur"].flatMap(number),
                let category = event["cat"] as? String
            else { continue }
            var entry = byRank[rank] ?? ([:], 0)
            if category == "step" {
                entry.steps += 1
            } else if category == "layer" {
                continue
            } else if category != "allreduce" || name == "all-reduce wait" {
                entry.seconds[category == "allreduce" ? "all-reduce wait" : category, default: 0] += duration / 1e6
            }
            byRank[rank] = entry
        }
        return byRank.keys.sorted().map { ($0, byRank[$0]!.seconds, byRank[$0]!.steps) }
    }

    // MARK: - Files

    static func number(_ value: Any) -> Double? {
        (value as? NSNumber)?.doubleValue
    }

    static func text(_ name: String, in directory: URL) throws -> String? {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ReportError(path: url.path, message: "unreadable as UTF-8 text")
        }
    }

    static func parseJSON(_ data: Data, path: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ReportError(path: path, message: "not valid JSON")
        }
    }

    static func jsonObject(_ name: String, in directory: URL) throws -> [String: Any]? {
        guard let text = try text(name, in: directory) else { return nil }
        let path = directory.appendingPathComponent(name).path
        guard let object = try parseJSON(Data(text.utf8), path: path) as? [String: Any] else {
            throw ReportError(path: path, message: "not a JSON object")
        }
        return object
    }

    /// The JSON objects of a JSON-lines file (blank lines skipped); empty when it is absent.
    static func jsonLines(_ name: String, in directory: URL) throws -> [[String: Any]] {
        guard let text = try text(name, in: directory) else { return [] }
        let path = directory.appendingPathComponent(name).path
        var objects: [[String: Any]] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy(\.isWhitespace) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ReportError(path: "\(path):\(index + 1)", message: "not a JSON object")
            }
            objects.append(object)
        }
        return objects
    }

    static func readSettings(_ directory: URL) throws -> [(key: String, value: String)] {
        guard let text = try text("training_config.yaml", in: directory) else { return [] }
        let path = directory.appendingPathComponent("training_config.yaml").path
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ReportError(path: path, message: "not valid YAML: \(error)")
        }
        guard let node else { return [] }
        guard let mapping = node.mapping else { throw ReportError(path: path, message: "not a YAML mapping") }
        return try mapping.map { key, value in
            let shown: String
            if let scalar = value.scalar {
                shown = scalar.string
            } else {
                shown = try Yams.serialize(node: value, width: -1, allowUnicode: true).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return (key.string ?? "\(key)", shown)
        }
    }

    /// `confusion_matrix.csv`: a header `true\predicted,<names>` and a row `<name>,<counts>` per class.
    static func parseConfusion(_ text: String, path: String) throws -> ([String], [[Int]]) {
        let rows = CSVFields.rows(text)
        guard let header = rows.first, header.count >= 2 else { throw ReportError(path: path, message: "no header row") }
        let names = Array(header.dropFirst())
        var counts: [[Int]] = []
        for (index, row) in rows.dropFirst().enumerated() {
            let values = row.dropFirst().compactMap { Int($0) }
            guard row.count == names.count + 1, values.count == names.count, row[0] == names[counts.count] else {
                throw ReportError(
                    path: "\(path):\(index + 2)", message: "expected \(names[min(counts.count, names.count - 1)]) and \(names.count) counts")
            }
            counts.append(values)
        }
        guard counts.count == names.count else {
            throw ReportError(path: path, message: "\(counts.count) rows for \(names.count) classes")
        }
        return (names, counts)
    }
}

/// Splits CSV text into rows of fields (RFC 4180 quoting), as `ConfusionMatrix.csv` writes it.
enum CSVFields {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, wasQuoted = false
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
                wasQuoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c.isNewline {
                if !field.isEmpty || !row.isEmpty || wasQuoted {
                    row.append(field)
                    rows.append(row)
                }
                (row, field, wasQuoted) = ([], "", false)
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty || wasQuoted {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}

/// A run directory the report cannot read: the file (and line) and what is wrong with it.
public struct ReportError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
