#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Crypto
import FTCore
import Foundation

/// One input file of a run: what it was for, where it was, and its content's SHA-256.
public struct LineageInput: Sendable, Equatable {
    /// `train`, `validation`, `test`, `config`, `evaluation`, `data`, `adapter`, ...
    public var role: String
    /// The path as the run was given it.
    public var path: String
    /// Lower-case hex SHA-256 of the file's bytes (what `sha256sum` prints).
    public var sha256: String
    public var bytes: Int

    public init(role: String, path: String, sha256: String, bytes: Int) {
        self.role = role
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// The model a run started from: its path and the SHA-256 of its weight files.
public struct LineageModel: Sendable, Equatable {
    public var path: String
    /// The SHA-256 of the one weight file (`model.safetensors`, the `.gguf` file), so it equals
    /// `sha256sum`'s; with several weight files, the SHA-256 of their `sha256sum` listing
    /// (`"<hash>  <name>\n"` per file, sorted by name).
    public var sha256: String
    /// Each weight file (name relative to `path`) and its SHA-256.
    public var files: [LineageInput]

    public init(path: String, sha256: String, files: [LineageInput]) {
        self.path = path
        self.sha256 = sha256
        self.files = files
    }
}

/// The run a run or model came from: a resumed run's checkpoint, a derived model's source.
public struct LineageParent: Sendable, Equatable {
    /// The parent's `run_id`, or nil when the parent has no `lineage.json` (a model fttrain did
    /// not make).
    public var runId: String?
    /// The parent's directory (or file) as an absolute path.
    public var path: String

    public init(runId: String?, path: String) {
        self.runId = runId
        self.path = path
    }
}

/// `lineage.json`, format `fttrain-lineage/1`: what a run read, how, with which fttrain, and what
/// it measured — the provenance record the guide's "Git + DVC" asks for, written by every command
/// that writes a model or run directory (`train`, `federated`, `prune`, `quantize`, `export`).
///
/// `run_id` is the SHA-256 of the record's canonical JSON without `run_id` (keys sorted, no
/// whitespace), so it names this exact content — `created` included, so two runs never share one.
public struct LineageRecord: @unchecked Sendable {
    public static let format = "fttrain-lineage/1"
    /// The file name in a run or model directory.
    public static let fileName = "lineage.json"
    /// The suffix of the record beside a model written as one file (`model.gguf.lineage.json`).
    public static let sidecarSuffix = ".lineage.json"

    public var runId: String = ""
    public var created: Date
    public var command: String
    public var fttrainVersion: String
    /// fttrain's source commit at build time, nil when unknown (see `LineageEnvironment`).
    public var gitCommit: String?
    /// Whether that checkout had uncommitted changes to tracked files; nil when unknown.
    public var gitDirty: Bool?
    public var inputs: [LineageInput]
    /// Split name (`train`, `validation`, `test`) → SHA-256 of the examples it held, in order
    /// (`LineageDigest.split`). Empty for commands that split nothing.
    public var split: [String: String]
    public var baseModel: LineageModel?
    /// The effective settings, as JSON values (`JSONSerialization` objects).
    public var settings: [String: Any]
    /// The final evaluation metrics (a checkpoint's record: none yet).
    public var metrics: [String: Double]
    public var parent: LineageParent?
    /// The global step of a checkpoint's record; nil for a finished run.
    public var step: Int?

    public init(
        command: String, created: Date = Date(), inputs: [LineageInput] = [], split: [String: String] = [:],
        baseModel: LineageModel? = nil, settings: [String: Any] = [:], metrics: [String: Double] = [:],
        parent: LineageParent? = nil, step: Int? = nil, environment: LineageEnvironment = .current
    ) {
        self.command = command
        self.created = created
        self.inputs = inputs
        self.split = split
        self.baseModel = baseModel
        self.settings = settings
        self.metrics = metrics
        self.parent = parent
        self.step = step
        fttrainVersion = environment.version
        gitCommit = environment.gitCommit
        gitDirty = environment.gitDirty
    }

    // MARK: - JSON

    /// The record as a JSON object, `run_id` left out.
    func contentObject() -> [String: Any] {
        func input(_ i: LineageInput) -> [String: Any] { ["role": i.role, "path": i.path, "sha256": i.sha256, "bytes": i.bytes] }
        var object: [String: Any] = [
            "format": Self.format, "created": Self.dateFormatter.string(from: created), "command": command,
            "fttrain_version": fttrainVersion, "git_commit": gitCommit as Any? ?? NSNull(), "git_dirty": gitDirty as Any? ?? NSNull(),
            "inputs": inputs.map(input), "split": split.isEmpty ? NSNull() : split as Any,
            "settings": settings, "metrics": metrics,
            "base_model": baseModel.map { ["path": $0.path, "sha256": $0.sha256, "files": $0.files.map(input)] as Any } ?? NSNull(),
            "parent": parent.map { ["run_id": $0.runId as Any? ?? NSNull(), "path": $0.path] as Any } ?? NSNull(),
        ]
        if let step { object["step"] = step }
        return object
    }

    /// Computes `run_id` from the content and returns the pretty-printed file.
    public mutating func finalize() throws -> Data {
        let content = contentObject()
        let canonical = try JSONSerialization.data(withJSONObject: content, options: [.sortedKeys, .withoutEscapingSlashes])
        runId = SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
        var object = content
        object["run_id"] = runId
        var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }

    /// Writes the record into each directory (`lineage.json`), atomically (a temporary file
    /// renamed into place); returns the `run_id`.
    @discardableResult
    public mutating func write(into directories: [URL]) throws -> String {
        let data = try finalize()
        for directory in directories {
            try Self.writeAtomically(data, to: directory.appendingPathComponent(Self.fileName))
        }
        return runId
    }

    /// Writes the record beside a model written as one file (`FILE.lineage.json`).
    @discardableResult
    public mutating func write(besideFile file: URL) throws -> String {
        let data = try finalize()
        try Self.writeAtomically(data, to: URL(fileURLWithPath: file.path + Self.sidecarSuffix))
        return runId
    }

    static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try DurableFile.save(data, to: temporary)
            if rename(temporary.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw LineageError.writeFailed(path: url.path, reason: reason)
            }
        } catch let error as LineageError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw LineageError.writeFailed(path: url.path, reason: "\(error)")
        }
    }

    /// ISO 8601 with milliseconds; one instance (they are costly to make, and thread-safe).
    nonisolated(unsafe) static let dateFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
    /// ISO 8601 without fractional seconds, also accepted on reading.
    nonisolated(unsafe) static let plainDateFormatter = ISO8601DateFormatter()
}
