import FTCore
import FTModel
import FTTrain
import Foundation

/// The coordinator's whole job in `fttrain federated`: the initial adapter, the rounds, an
/// evaluation of the global adapter on its own validation set after each, and the output
/// directory — `rounds.jsonl` (a line per round), `metrics.json` (final `eval_*`, `test_*`),
/// `adapter/` (the global adapter in PEFT's format) and, for `--resume`, `federation_state.json`
/// with `global_adapter.safetensors`, both replaced atomically after every round.
public final class FederatedCoordinatorRun {
    public let configuration: FederatedConfiguration
    private let channel: any MessageTransport
    private let output: URL
    private let task: FederatedTask
    private var model: any SequenceModel { task.model }
    private let validation: FederatedTask.Split?, test: FederatedTask.Split?
    private let baseModel: URL

    public init(configuration: FederatedConfiguration, channel: any MessageTransport) throws {
        self.configuration = configuration
        self.channel = channel
        let c = configuration.training
        guard let outputDir = c.outputDir, let modelDir = c.modelDir else {
            throw FederationError(description: "output_dir and model_dir are required")
        }
        output = URL(fileURLWithPath: outputDir, isDirectory: true)
        baseModel = URL(fileURLWithPath: modelDir, isDirectory: !modelDir.lowercased().hasSuffix(".gguf"))
        task = try FederatedTask(configuration: c, labels: configuration.labels)
        validation = try c.validationFile.map(task.read)
        test = try c.testFile.map(task.read)
    }

    /// Runs (or, with `resume`, continues) the federation; returns the final metrics.
    public func run(resume: Bool, registry: SiteRegistry, log: (String) -> Void) throws -> [String: Double] {
        let manager = FileManager.default
        try manager.createDirectory(at: output, withIntermediateDirectories: true)
        var global = try ModelAdapterBridge.extract(from: model, examples: 0)
        var startRound = 0
        let coordinator = FederatedCoordinator(
            channel: channel,
            sites: configuration.siteDescriptors, settings: configuration.settings, registry: registry)
        if resume, let state = try FederationState.load(from: output) {
            global = state.global
            startRound = state.completedRounds
            coordinator.restorePrivacy(rdp: state.rdp, rounds: state.privacyRounds)
            coordinator.serverOptimizer = try coordinator.serverOptimizer.restored(from: output, completedRounds: startRound)
            log("resuming after round \(startRound - 1) from \(output.path)")
        } else if manager.fileExists(atPath: output.appendingPathComponent("rounds.jsonl").path), !resume {
            throw FederationError(description: "\(output.path) already holds a federation (rounds.jsonl): use --resume or another output_dir")
        }
        let roundsFile = output.appendingPathComponent("rounds.jsonl")
        if !manager.fileExists(atPath: roundsFile.path), !manager.createFile(atPath: roundsFile.path, contents: nil) {
            throw FederationError(description: "cannot create \(roundsFile.path)")
        }
        let started = Date()
        var lastEvaluation: [String: Double]?  // the final round's, reused for metrics.json
        global = try coordinator.run(initial: global, startRound: startRound) { record, next in
            var line = record.json
            let evaluation = try evaluate(next, dataset: validation, prefix: "eval_")
            lastEvaluation = evaluation
            for (key, value) in evaluation { line[key] = value }
            line["elapsed_seconds"] = Date().timeIntervalSince(started)
            let handle = try FileHandle(forWritingTo: roundsFile)
            try handle.seekToEnd()
            try handle.write(contentsOf: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) + Data([0x0A]))
            try handle.close()
            try FederationState(
                completedRounds: record.round + 1, global: next, rdp: coordinator.accountant.rdp,
                privacyRounds: coordinator.accountant.rounds, serverOptimizer: coordinator.serverOptimizer
            ).save(to: output)
            let score =
                (line["eval_f1_macro"] as? Double).map { String(format: " (eval_f1_macro %.4f)", $0) }
                ?? (line["eval_loss"] as? Double).map { String(format: " (eval_loss %.4f)", $0) } ?? ""
            log("round \(record.round)\(score): \(record.summary)")
        }
        var metrics = try lastEvaluation ?? evaluate(global, dataset: validation, prefix: "eval_")
        metrics.merge(try evaluate(global, dataset: test, prefix: "test_")) { $1 }
        metrics["rounds"] = Double(configuration.settings.rounds)
        if let privacy = configuration.settings.privacy {
            metrics["epsilon"] = coordinator.accountant.epsilon(delta: privacy.delta).epsilon
        }
        try JSONSerialization.data(withJSONObject: metrics, options: [.prettyPrinted, .sortedKeys])
            .write(to: output.appendingPathComponent("metrics.json"), options: .atomic)
        try ModelAdapterBridge.apply(global, to: model)
        try PEFTAdapter.write(
            model: model, to: output.appendingPathComponent("adapter"), baseModelName: baseModel.path,
            extraFiles: try PEFTTraining.labelsFiles(task.isCausalLM ? [] : configuration.labels))
        log("global adapter written to \(output.appendingPathComponent("adapter").path)")
        RunReport.writeAtEnd(of: output, log: log)
        return metrics
    }

    /// Metrics of the global adapter on `split` (none without one).
    private func evaluate(_ adapter: AdapterUpdate, dataset split: FederatedTask.Split?, prefix: String) throws -> [String: Double] {
        guard let split, split.dataset.count > 0 else { return [:] }
        try ModelAdapterBridge.apply(adapter, to: model)
        return try task.evaluate(split, prefix: prefix)
    }
}

/// What a federation needs to continue after its last completed round.
struct FederationState {
    var completedRounds: Int
    var global: AdapterUpdate
    var rdp: [Double]
    var privacyRounds: Int
    /// The server optimiser's moments, saved beside the adapter (`server_optimizer.safetensors`).
    var serverOptimizer: ServerOptimizer? = nil

    static let stateFile = "federation_state.json", adapterFile = "global_adapter.safetensors"

    func save(to output: URL) throws {
        // The adapter first, then the state that points at it: a crash between them leaves the
        // previous round's state, whose adapter file is the one just replaced — so the adapter
        // carries its round and is checked on load.
        let bytes = try AdapterCodec.encode(global, metadata: ["round": String(completedRounds)])
        try Data(bytes).write(to: output.appendingPathComponent(Self.adapterFile), options: .atomic)
        try serverOptimizer?.save(to: output, completedRounds: completedRounds)
        let state: [String: Any] = ["completed_rounds": completedRounds, "rdp": rdp, "privacy_rounds": privacyRounds]
        try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys])
            .write(to: output.appendingPathComponent(Self.stateFile), options: .atomic)
    }

    static func load(from output: URL) throws -> FederationState? {
        let statePath = output.appendingPathComponent(stateFile)
        guard let data = FileManager.default.contents(atPath: statePath.path) else { return nil }
        guard let state = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let completed = state["completed_rounds"] as? Int
        else {
            throw FederationError(description: "\(statePath.path) is not a federation state")
        }
        let adapterPath = output.appendingPathComponent(adapterFile).path
        guard let bytes = FileManager.default.contents(atPath: adapterPath) else {
            throw FederationError(description: "\(adapterPath) is missing: cannot resume")
        }
        let (global, metadata) = try AdapterCodec.decode([UInt8](bytes), source: adapterPath)
        guard metadata["round"].flatMap(Int.init) == completed else {
            throw FederationError(
                description:
                    "\(adapterPath) is of round \(metadata["round"] ?? "?"), the state says \(completed) rounds: the last save was interrupted")
        }
        return FederationState(
            completedRounds: completed, global: global, rdp: (state["rdp"] as? [Double]) ?? [],
            privacyRounds: (state["privacy_rounds"] as? Int) ?? 0)
    }
}
