import Foundation
import Yams

/// The settings of `fttrain serve`: the models and adapters to load and the server's limits, from
/// the command line and/or a YAML file (`--config serve.yaml`, the same keys in snake case).
///
/// ```yaml
/// models: {sentiment: runs/rt/model, minilm: .cache/models/all-MiniLM-L6-v2}
/// adapters: {rt_lora: {base: minilm, dir: runs/lora/adapter}}
/// max_batch_tokens: 16384
/// ```
public struct ServeConfiguration: Sendable, Equatable {
    /// A model directory served under a name.
    public struct ModelSpec: Sendable, Equatable {
        public var name: String
        public var directory: String
        public init(name: String, directory: String) {
            self.name = name
            self.directory = directory
        }
    }

    /// An adapter directory served under a name, over the model served as `base`.
    public struct AdapterSpec: Sendable, Equatable {
        public var name: String
        public var base: String
        public var directory: String
        public init(name: String, base: String, directory: String) {
            self.name = name
            self.base = base
            self.directory = directory
        }
    }

    public var models: [ModelSpec] = []
    public var adapters: [AdapterSpec] = []
    /// The A/B routes of the YAML file (`routes:`), each definition as JSON text, for the A/B code
    /// (not routed here); shown under `/info`.
    public var routes: [String: String] = [:]
    /// The A/B log file (`--ab-log`, `ab_log:`): predictions on A/B routes and their feedback (in memory without it).
    public var abLog: String?
    public var host = "127.0.0.1"
    /// 0: any free port (the listening line says which).
    public var port = 8080
    /// Compute threads (nil: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).
    public var threads: Int?
    /// Most tokens (sum of the texts' lengths) in one batch, as TEI's `max_batch_tokens`.
    public var maxBatchTokens = 16384
    /// Most texts in one batch.
    public var maxBatchRequests = 64
    /// How long the first queued request may wait for others to join its batch (0: no wait).
    public var maxWaitMilliseconds = 0
    /// Requests in flight (inference routes) beyond which the server answers 429.
    public var maxConcurrentRequests = 512
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 2_097_152
    /// Texts (or pairs) in one request.
    public var maxInputs = 64
    /// Tokens per text incl. [CLS]/[SEP] (nil: each model's own maximum).
    public var maxLength: Int?
    /// Over-long texts are cut to `maxLength` (true) or refused with 400 (false).
    public var truncate = true

    public init() {}

    /// Parses `NAME=DIR`.
    public static func parseModel(_ argument: String) throws -> ModelSpec {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ServeSetupError("--model \(argument): expected NAME=DIR")
        }
        return ModelSpec(name: parts[0], directory: parts[1])
    }

    /// Parses `NAME=BASE:DIR`.
    public static func parseAdapter(_ argument: String) throws -> AdapterSpec {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let colon = parts[1].firstIndex(of: ":") else {
            throw ServeSetupError("--adapter \(argument): expected NAME=BASE:DIR")
        }
        let base = String(parts[1][..<colon]), directory = String(parts[1][parts[1].index(after: colon)...])
        guard !parts[0].isEmpty, !base.isEmpty, !directory.isEmpty else {
            throw ServeSetupError("--adapter \(argument): expected NAME=BASE:DIR")
        }
        return AdapterSpec(name: parts[0], base: base, directory: directory)
    }

    /// Reads a YAML file over these settings (command-line values given after it win).
    /// - Throws: `ServeSetupError` naming the file and the key: unknown key, wrong type.
    public mutating func load(yamlFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ServeSetupError("\(path): cannot read the serve configuration")
        }
        let parsed: Any?
        do {
            parsed = try Yams.load(yaml: text)
        } catch {
            throw ServeSetupError("\(path): not valid YAML (\(error))")
        }
        guard let object = parsed as? [String: Any] else { throw ServeSetupError("\(path): expected a mapping of settings") }
        func int(_ key: String) throws -> Int {
            guard let value = object[key] as? Int else { throw ServeSetupError("\(path): \(key) must be an integer") }
            return value
        }
        for key in object.keys.sorted() {
            switch key {
            case "models":
                guard let map = object[key] as? [String: Any] else { throw ServeSetupError("\(path): models must map names to directories") }
                for name in map.keys.sorted() {
                    guard let directory = map[name] as? String else { throw ServeSetupError("\(path): models.\(name) must be a directory path") }
                    models.append(ModelSpec(name: name, directory: directory))
                }
            case "adapters":
                guard let map = object[key] as? [String: Any] else { throw ServeSetupError("\(path): adapters must map names to {base, dir}") }
                for name in map.keys.sorted() {
                    guard let entry = map[name] as? [String: Any], let base = entry["base"] as? String, let directory = entry["dir"] as? String
                    else { throw ServeSetupError("\(path): adapters.\(name) needs base (a model name) and dir (a path)") }
                    adapters.append(AdapterSpec(name: name, base: base, directory: directory))
                }
            case "routes":
                guard let map = object[key] as? [String: Any] else { throw ServeSetupError("\(path): routes must be a mapping") }
                for (name, value) in map {
                    guard JSONSerialization.isValidJSONObject(value),
                        let json = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
                    else { throw ServeSetupError("\(path): routes.\(name) must be a mapping") }
                    routes[name] = String(decoding: json, as: UTF8.self)
                }
            case "ab_log":
                guard let value = object[key] as? String else { throw ServeSetupError("\(path): ab_log must be a file path") }
                abLog = value
            case "host":
                guard let value = object[key] as? String else { throw ServeSetupError("\(path): host must be a string") }
                host = value
            case "port": port = try int(key)
            case "threads": threads = try int(key)
            case "max_batch_tokens": maxBatchTokens = try int(key)
            case "max_batch_requests": maxBatchRequests = try int(key)
            case "max_wait_ms": maxWaitMilliseconds = try int(key)
            case "max_concurrent_requests": maxConcurrentRequests = try int(key)
            case "max_body_bytes": maxBodyBytes = try int(key)
            case "max_inputs": maxInputs = try int(key)
            case "max_length": maxLength = try int(key)
            case "truncate":
                guard let value = object[key] as? Bool else { throw ServeSetupError("\(path): truncate must be true or false") }
                truncate = value
            default:
                throw ServeSetupError("\(path): unknown setting \(key)")
            }
        }
    }

    /// Checks the values: positive limits, unique names, adapters over served models.
    public func validate() throws {
        guard !models.isEmpty else { throw ServeSetupError("no model to serve: give --model NAME=DIR or models: in --config") }
        for (value, name) in [
            (maxBatchTokens, "max_batch_tokens"), (maxBatchRequests, "max_batch_requests"),
            (maxConcurrentRequests, "max_concurrent_requests"), (maxBodyBytes, "max_body_bytes"), (maxInputs, "max_inputs"),
        ] where value < 1 {
            throw ServeSetupError("\(name) must be positive, got \(value)")
        }
        guard maxWaitMilliseconds >= 0 else { throw ServeSetupError("max_wait_ms must be 0 or more, got \(maxWaitMilliseconds)") }
        guard (0...65535).contains(port) else { throw ServeSetupError("port must be in 0...65535, got \(port)") }
        if let threads, threads < 1 { throw ServeSetupError("threads must be positive, got \(threads)") }
        if let maxLength, maxLength < 2 { throw ServeSetupError("max_length must be at least 2, got \(maxLength)") }
        var names = Set<String>()
        for name in models.map(\.name) + adapters.map(\.name) {
            guard names.insert(name).inserted else { throw ServeSetupError("the name \(name) is given to two models or adapters") }
        }
        for adapter in adapters where !models.contains(where: { $0.name == adapter.base }) {
            throw ServeSetupError("adapter \(adapter.name): its base \(adapter.base) is not a served --model")
        }
    }
}

/// A setting or a model that keeps the server from starting; the message names the problem.
public struct ServeSetupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
