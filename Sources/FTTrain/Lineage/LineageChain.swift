import Foundation

/// The chain of records from a run or model back through its parents, as `fttrain lineage`
/// prints it.
public struct LineageChain {
    /// One record of the chain and where it was read.
    public struct Link {
        /// The directory (or file) the link stands for.
        public var path: String
        /// The `lineage.json` read.
        public var file: String
        public var record: LineageRecord
        /// The file's JSON object, as read (for `--json`).
        public var object: [String: Any]
    }

    /// How the chain ends.
    public enum End: Equatable {
        /// The last record has no parent.
        case origin
        /// The parent a record names has no readable record there (moved, deleted, or a model
        /// fttrain did not make): `path` and why.
        case missing(path: String, reason: String)
        /// The parent exists but has no record: a model fttrain did not make (downloaded, or
        /// written by another tool) — where the recorded history starts.
        case unrecorded(path: String)
        /// The parent's record has another `run_id` than the child names: it was replaced.
        case replaced(path: String, expected: String, found: String)
        /// A parent already in the chain (a record pointing back at itself).
        case cycle(path: String)
    }

    public var links: [Link]
    public var end: End

    /// Follows parents from `path` (a run or model directory, a one-file model, or a
    /// `lineage.json`).
    /// - Throws: `LineageError` when `path` has no record, or any record of the chain is malformed.
    public static func follow(from path: String) throws -> LineageChain {
        let first = LineageRecord.location(of: path)
        guard FileManager.default.fileExists(atPath: first) else {
            throw LineageError.notFound("\(path): no \(LineageRecord.fileName) (looked for \(first)); not a run or model directory fttrain wrote")
        }
        var links: [Link] = []
        var seen: Set<String> = []
        var current = (path: path, file: first)
        while true {
            let read = try LineageRecord.read(file: current.file)
            links.append(Link(path: current.path, file: current.file, record: read.record, object: read.object))
            seen.insert(URL(fileURLWithPath: current.file).standardizedFileURL.path)
            guard let parent = read.record.parent else { return LineageChain(links: links, end: .origin) }
            let file = LineageRecord.location(of: parent.path)
            if seen.contains(URL(fileURLWithPath: file).standardizedFileURL.path) {
                return LineageChain(links: links, end: .cycle(path: parent.path))
            }
            guard FileManager.default.fileExists(atPath: file) else {
                if FileManager.default.fileExists(atPath: parent.path) {
                    return LineageChain(
                        links: links,
                        end: parent.runId == nil
                            ? .unrecorded(path: parent.path) : .missing(path: parent.path, reason: "its \(LineageRecord.fileName) was removed"))
                }
                return LineageChain(links: links, end: .missing(path: parent.path, reason: "no such file or directory (moved or deleted?)"))
            }
            if let expected = parent.runId {
                let found = try LineageRecord.read(file: file).record.runId
                if found != expected { return LineageChain(links: links, end: .replaced(path: parent.path, expected: expected, found: found)) }
            }
            current = (parent.path, file)
        }
    }

    /// One block per record, child first; then how the chain ends.
    public func text() -> String {
        var lines: [String] = []
        for (index, link) in links.enumerated() {
            let r = link.record
            if index > 0 { lines.append("") }
            lines.append("\(link.path)")
            lines.append("  run       \(short(r.runId))  \(r.command)\(r.step.map { " (checkpoint at step \($0))" } ?? "")")
            lines.append("  created   \(LineageRecord.dateFormatter.string(from: r.created))")
            let commit = r.gitCommit.map { String($0.prefix(12)) + (r.gitDirty == true ? " (uncommitted changes)" : "") } ?? "unknown"
            lines.append("  fttrain   \(r.fttrainVersion), commit \(commit)")
            if let base = r.baseModel { lines.append("  base      \(base.path)  \(short(base.sha256))") }
            for input in r.inputs {
                lines.append(
                    "  input     \(input.role.padding(toLength: 10, withPad: " ", startingAt: 0)) \(input.path)  \(short(input.sha256))  \(input.bytes) bytes"
                )
            }
            if !r.split.isEmpty {
                let order = ["train", "validation", "test"]
                let names = r.split.keys.sorted { (order.firstIndex(of: $0) ?? 3, $0) < (order.firstIndex(of: $1) ?? 3, $1) }
                lines.append("  split     " + names.map { "\($0) \(short(r.split[$0]!))" }.joined(separator: ", "))
            }
            if !r.metrics.isEmpty {
                let keys = Self.headlineMetrics(r.metrics)
                let more = r.metrics.count - keys.count
                lines.append(
                    "  metrics   " + keys.map { "\($0) \(format(r.metrics[$0]!))" }.joined(separator: ", ")
                        + (more > 0 ? " (+\(more) more: --json)" : ""))
            }
            if let parent = r.parent { lines.append("  parent    \(parent.path)" + (parent.runId.map { " (run \(short($0)))" } ?? "")) }
        }
        switch end {
        case .origin: break
        case .missing(let path, let reason): lines += ["", "parent \(path) is missing: \(reason)"]
        case .unrecorded(let path):
            lines += ["", "parent \(path) has no \(LineageRecord.fileName): a model fttrain did not make (the recorded history starts here)"]
        case .replaced(let path, let expected, let found):
            lines += ["", "parent \(path) was replaced: its run is \(short(found)), the child names \(short(expected))"]
        case .cycle(let path): lines += ["", "parent \(path) is already in the chain: the records point in a circle"]
        }
        return lines.joined(separator: "\n")
    }

    /// `{"chain": [{"path", "file", "lineage"}...], "end": {...}}`.
    public func json() throws -> Data {
        var end: [String: Any]
        switch self.end {
        case .origin: end = ["kind": "origin"]
        case .missing(let path, let reason): end = ["kind": "missing", "path": path, "reason": reason]
        case .unrecorded(let path): end = ["kind": "unrecorded", "path": path]
        case .replaced(let path, let expected, let found):
            end = ["kind": "replaced", "path": path, "expected_run_id": expected, "found_run_id": found]
        case .cycle(let path): end = ["kind": "cycle", "path": path]
        }
        let object: [String: Any] = ["chain": links.map { ["path": $0.path, "file": $0.file, "lineage": $0.object] }, "end": end]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// The metrics a block shows: loss, accuracy, macro-F1 and perplexity of evaluation and test,
    /// the training loss and steps, when the record has them; else all of them.
    static func headlineMetrics(_ metrics: [String: Double]) -> [String] {
        let headline = ["loss", "accuracy", "f1_macro", "perplexity"].flatMap { ["eval_" + $0, "test_" + $0] } + ["train_loss", "train_steps"]
        let shown = metrics.keys.filter(headline.contains).sorted()
        return shown.isEmpty ? metrics.keys.sorted() : shown
    }

    private func short(_ hash: String) -> String { String(hash.prefix(12)) }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) >= 2 && abs(value) < 1e12 ? String(Int(value)) : String(format: "%.4f", value)
    }
}
