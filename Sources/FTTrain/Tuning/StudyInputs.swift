import Foundation

/// The files a study was started from, by SHA-256: its search space (`--space`) and its base
/// configuration (`--config`). Kept in `DIR/study-inputs.json`, written when the study starts;
/// a resume (`Study.init` on the same directory) whose files' contents differ is refused, since
/// its trials would mix two searches in one `study.jsonl` (the samplers learn from every line).
public struct StudyInputs: Codable, Equatable, Sendable {
    /// One input file: where it was read, and the SHA-256 of its bytes (lower-case hex).
    public struct File: Codable, Equatable, Sendable {
        public var path: String
        public var sha256: String

        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }

        /// `path` hashed now, recorded as an absolute path (a resume may run from another directory).
        /// - Throws: `ConfigurationError` naming the file when it cannot be read.
        public init(hashing path: String) throws {
            do {
                self.init(path: URL(fileURLWithPath: path).standardizedFileURL.path, sha256: try FileDigest.sha256(ofFile: path))
            } catch {
                throw ConfigurationError(
                    source: path, problems: [.init(kind: .malformed, key: nil, message: "cannot read the file to hash it: \(error)")])
            }
        }
    }

    public var space: File
    public var config: File

    public init(space: File, config: File) {
        self.space = space
        self.config = config
    }

    /// The inputs of a study started from the search space at `spacePath` and the base
    /// configuration at `configPath`, both hashed now.
    public init(spacePath: String, configPath: String) throws {
        self.init(space: try File(hashing: spacePath), config: try File(hashing: configPath))
    }

    /// Where a study directory keeps them.
    public static func file(in directory: URL) -> URL { directory.appendingPathComponent("study-inputs.json") }

    /// Records these inputs in `directory` when it has none yet (a new study, or one started before
    /// they were recorded); otherwise checks they are the recorded ones.
    /// - Throws: `ConfigurationError` naming the changed file (`--space` and/or `--config`), the
    ///   file the study was started from and the record; or one naming an unreadable record.
    public func recordOrCheck(in directory: URL) throws {
        let url = Self.file(in: directory)
        guard FileManager.default.fileExists(atPath: url.path) else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(self).write(to: url, options: .atomic)
            return
        }
        let stored: StudyInputs
        do {
            stored = try JSONDecoder().decode(StudyInputs.self, from: Data(contentsOf: url))
        } catch {
            throw ConfigurationError(
                source: url.path, problems: [.init(kind: .malformed, key: nil, message: "not a study's inputs record (\(error))")])
        }
        var problems: [ConfigurationProblem] = []
        for (flag, what, now, then) in [("space", "search space", space, stored.space), ("config", "base configuration", config, stored.config)]
        where now.sha256 != then.sha256 {
            problems.append(
                ConfigurationProblem(
                    kind: .invalidValue, key: flag,
                    message: "--\(flag) \(now.path) (sha256 \(now.sha256.prefix(12))) differs from the \(what) this study was "
                        + "started from, \(then.path) (sha256 \(then.sha256.prefix(12)), recorded in \(url.lastPathComponent)): a resumed "
                        + "study must keep its \(what); restore the file, or start a new study in another --output-dir"))
        }
        if !problems.isEmpty { throw ConfigurationError(source: directory.path, problems: problems) }
    }
}
