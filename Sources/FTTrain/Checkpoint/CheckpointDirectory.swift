import FTCore
import FTModel
import Foundation

/// The files of one checkpoint, `OUT/checkpoint-<global step>/`, and how to tell a complete one
/// from a partial or damaged one.
///
/// Layout (Hugging Face's names where HF has the file):
/// - `config.json`, `model.safetensors`, tokenizer files: the model, as `HuggingFaceExport` writes it;
/// - `optimizer.safetensors`: AdamW's `exp_avg` and `exp_avg_sq` (step count in the metadata);
/// - `scheduler.json`, `trainer_state.json`, `log_history.jsonl`;
/// - `rng_state_<rank>.json`: one per rank (dropout generator, data cursor);
/// - `best_model.safetensors`: only when the best model so far was evaluated at a step without
///   a checkpoint and `load_best_model_at_end` needs it;
/// - `SHA256SUMS`: `sha256sum` lines for every file above (`sha256sum -c SHA256SUMS` checks them);
/// - `DONE`: the completion marker, written last.
public enum CheckpointDirectory {
    public static let prefix = "checkpoint-"
    public static let manifestName = "SHA256SUMS"
    public static let markerName = "DONE"
    public static let trainerStateName = "trainer_state.json"
    public static let optimizerName = "optimizer.safetensors"
    public static let schedulerName = "scheduler.json"
    public static let logHistoryName = "log_history.jsonl"
    public static let modelName = "model.safetensors"
    public static let bestModelName = "best_model.safetensors"
    /// The adapter of a LoRA or bottleneck-adapter run (PEFT's file names), in place of `modelName`.
    public static let adapterWeightsName = PEFTAdapter.weightsFile

    public static func rankStateName(_ rank: Int) -> String { "rng_state_\(rank).json" }

    /// `checkpoint-<step>`.
    public static func name(step: Int) -> String { prefix + String(step) }

    /// The global step in a directory name `checkpoint-<step>`, or nil.
    public static func step(ofName name: String) -> Int? {
        guard name.hasPrefix(prefix), let step = Int(name.dropFirst(prefix.count)), step >= 0 else { return nil }
        return step
    }

    /// The checkpoint directories under `output`, by step, oldest first (complete or not).
    public static func list(in output: URL) -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        return names.compactMap { name in step(ofName: name).map { ($0, output.appendingPathComponent(name, isDirectory: true)) } }
            .sorted { $0.step < $1.step }
    }

    /// Throws `CheckpointError.corrupt` naming the first problem: no completion marker, no
    /// manifest, a required file not in it, a listed file missing, or a sum that differs.
    public static func verify(_ directory: URL) throws {
        let path = directory.path
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError.corrupt(directory: path, reason: "no such directory")
        }
        guard fileManager.fileExists(atPath: directory.appendingPathComponent(markerName).path) else {
            throw CheckpointError.corrupt(directory: path, reason: "no completion marker \(markerName) (the write was interrupted)")
        }
        let sums = try manifest(of: directory)
        // A LoRA or adapter run checkpoints its adapter (as Hugging Face's Trainer does with PEFT), others the model.
        let weights = sums[adapterWeightsName] != nil ? adapterWeightsName : modelName
        for required in [weights, optimizerName, schedulerName, trainerStateName, logHistoryName, rankStateName(0)]
        where sums[required] == nil {
            throw CheckpointError.corrupt(directory: path, reason: "\(manifestName) does not list \(required)")
        }
        for (file, expected) in sums.sorted(by: { $0.key < $1.key }) {
            let filePath = directory.appendingPathComponent(file).path
            guard fileManager.fileExists(atPath: filePath) else {
                throw CheckpointError.corrupt(directory: path, reason: "\(file) is missing")
            }
            let actual = try FileDigest.sha256(ofFile: filePath)
            guard actual == expected else {
                throw CheckpointError.corrupt(
                    directory: path, reason: "\(file) has sha256 \(actual), the manifest says \(expected) (truncated or altered)")
            }
        }
    }

    /// The manifest as file name → hex sum.
    static func manifest(of directory: URL) throws -> [String: String] {
        let url = directory.appendingPathComponent(manifestName)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw CheckpointError.corrupt(directory: directory.path, reason: "no readable \(manifestName)")
        }
        var sums: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            // `sha256sum` format: 64 hex digits, two spaces (or space and `*`), the name.
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit) else {
                throw CheckpointError.corrupt(directory: directory.path, reason: "\(manifestName) line \(number + 1) is not `<sha256>  <file>`")
            }
            var name = parts[1]
            if name.first == " " || name.first == "*" { name = name.dropFirst() }
            guard !name.isEmpty, !name.contains("/") else {
                throw CheckpointError.corrupt(directory: directory.path, reason: "\(manifestName) line \(number + 1) names no file of the checkpoint")
            }
            sums[String(name)] = String(parts[0])
        }
        return sums
    }

    /// Writes `SHA256SUMS` for every regular file of `directory` but itself and the marker.
    static func writeManifest(in directory: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0 != manifestName && $0 != markerName }.sorted()
        var text = ""
        for name in names { text += "\(try FileDigest.sha256(ofFile: directory.appendingPathComponent(name).path))  \(name)\n" }
        try DurableFile.save(Data(text.utf8), to: directory.appendingPathComponent(manifestName))
    }

    /// The checkpoint to resume from. `request` is `latest` (the newest complete checkpoint under
    /// `output`, falling back past partial or damaged ones, each reported through `note`) or a
    /// directory, which must itself be complete.
    public static func resolve(_ request: String, output: URL, note: (String) -> Void) throws -> URL {
        if request != "latest" {
            let url = URL(fileURLWithPath: request, isDirectory: true)
            try verify(url)
            return url
        }
        let candidates = list(in: output)
        for (index, candidate) in candidates.enumerated().reversed() {
            do {
                try verify(candidate.url)
                return candidate.url
            } catch let error as CheckpointError {
                let previous = index > 0 ? "falling back to \(candidates[index - 1].url.lastPathComponent)" : "no earlier checkpoint"
                note("warning: \(error); \(previous)")
            }
        }
        throw CheckpointError.notFound(
            candidates.isEmpty
                ? "--resume-from latest: no checkpoint-* directory in \(output.path)"
                : "--resume-from latest: none of the \(candidates.count) checkpoints in \(output.path) is complete")
    }
}
