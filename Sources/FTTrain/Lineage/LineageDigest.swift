import Crypto
import Foundation

/// The SHA-256 sums a lineage record holds: input files, a model's weight files and the exact
/// examples of each split.
public enum LineageDigest {
    /// `path`'s SHA-256 and size as an input of `role`.
    /// - Throws: `LineageError.notFound` naming the file when it cannot be read.
    public static func input(role: String, path: String) throws -> LineageInput {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let bytes = (attributes[.size] as? NSNumber)?.intValue, attributes[.type] as? FileAttributeType != .typeDirectory
        else {
            throw LineageError.notFound("\(path) (\(role)): no such file to hash for lineage.json")
        }
        return LineageInput(role: role, path: path, sha256: try FileDigest.sha256(ofFile: path), bytes: bytes)
    }

    /// The weight files of a model: a file itself (`.gguf`), or a directory's top-level
    /// `*.safetensors`, `*.gguf` and `*.bin` files (names relative to the directory).
    /// - Throws: `LineageError.notFound` when the path does not exist.
    public static func model(at path: String) throws -> LineageModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LineageError.notFound("\(path): no such model to hash for lineage.json")
        }
        var files: [LineageInput] = []
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            for name in names where ["safetensors", "gguf", "bin"].contains((name as NSString).pathExtension.lowercased()) {
                var file = try input(role: "weights", path: (path as NSString).appendingPathComponent(name))
                file.path = name
                files.append(file)
            }
        } else {
            var file = try input(role: "weights", path: path)
            file.path = (path as NSString).lastPathComponent
            files.append(file)
        }
        let combined: String
        if files.count == 1 {
            combined = files[0].sha256
        } else {
            let listing = files.map { "\($0.sha256)  \($0.path)\n" }.joined()
            combined = hex(SHA256.hash(data: Data(listing.utf8)))
        }
        return LineageModel(path: path, sha256: combined, files: files)
    }

    /// The SHA-256 of a split's examples in the order the run used them: per example one line of
    /// its source line number (`file:line`'s line; the file's own hash is in `inputs`), its text,
    /// its pair and its target, fields separated by U+001F. A split drawn with another seed holds
    /// other examples or another order, so its sum differs; the same data, seed and settings give
    /// the same sum on every machine.
    public static func split(_ dataset: EncodedDataset) -> String {
        var hash = SHA256()
        for i in 0..<dataset.count {
            var fields: [String] = []
            if !dataset.sources.isEmpty {
                let source = dataset.sources[i]
                fields.append(source.split(separator: ":").last.map(String.init) ?? source)
            } else {
                fields.append(String(i))
            }
            fields.append(dataset.texts[i])
            fields.append(dataset.pairs[i] ?? "")
            if dataset.hasTokenLabels {
                fields.append(dataset.tokenLabels[i].map(String.init).joined(separator: " "))
            } else {
                fields.append(String(dataset.labels[i]))
            }
            hash.update(data: Data((fields.joined(separator: "\u{1F}") + "\n").utf8))
        }
        return hex(hash.finalize())
    }

    /// The sums of the non-empty splits by name.
    public static func splits(train: EncodedDataset, validation: EncodedDataset, test: EncodedDataset) -> [String: String] {
        var sums: [String: String] = [:]
        for (name, dataset) in [("train", train), ("validation", validation), ("test", test)] where dataset.count > 0 {
            sums[name] = split(dataset)
        }
        return sums
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

extension LineageRecord {
    /// The record of a model derived from another (`prune`, `quantize`, `export`): the source as
    /// base model (its weights' sums) and as parent (its `run_id` when it has a record) — or
    /// `parent` instead, such as the adapter merged into the source (its run made the weights that
    /// matter) — the command's settings and metrics, and any further input files.
    public static func derived(
        command: String, source: String, parent: String? = nil, settings: [String: Any], metrics: [String: Double] = [:],
        inputs: [(role: String, path: String)] = []
    ) throws -> LineageRecord {
        LineageRecord(
            command: command, inputs: try inputs.map { try LineageDigest.input(role: $0.role, path: $0.path) },
            baseModel: try LineageDigest.model(at: source), settings: settings, metrics: metrics,
            parent: TrainingRun.lineageParent(parent ?? source))
    }

    /// The numeric entries of a command's JSON report as metrics, nested objects' flattened as
    /// `outer_inner` (`eval_pruned_accuracy`, `int8_macro_f1`); strings and lists left out.
    public static func numericMetrics(_ report: [String: Any]) -> [String: Double] {
        var numbers: [String: Double] = [:]
        for (key, value) in report {
            if value is String { continue }
            if let number = value as? NSNumber {
                numbers[key] = number.doubleValue
            } else if let nested = value as? [String: Any] {
                for (inner, number) in numericMetrics(nested) { numbers["\(key)_\(inner)"] = number }
            }
        }
        return numbers
    }
}
