import FTCore
import FTModel
import Foundation

/// A verified checkpoint read back for `--resume-from`: the states to restore, in the order the
/// trainer needs them (schedule and cursor before the loop, model and optimizer into place).
public struct ResumedCheckpoint {
    public let directory: URL
    public let trainerState: TrainerState
    public let scheduler: SchedulerState
    /// This rank's saved generator and cursor; nil when the checkpoint came from a different
    /// number of ranks (the generator is then derived as that run would have drawn it).
    public let rankState: RankState?
    /// The exact lines of `log.jsonl` up to the checkpoint.
    public let logHistory: Data

    /// Reads the state files of `directory` for `rank` of `worldSize` ranks (the sums were
    /// checked by `CheckpointDirectory.verify` on rank 0).
    public static func read(_ directory: URL, rank: Int, worldSize: Int) throws -> ResumedCheckpoint {
        func data(_ name: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
                throw CheckpointError.corrupt(
                    directory: directory.path, reason: "cannot read \(name) (output_dir must be a directory every rank sees)")
            }
            return data
        }
        func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
            do { return try JSONDecoder().decode(type, from: try data(name)) } catch let error as CheckpointError { throw error } catch {
                throw CheckpointError.corrupt(directory: directory.path, reason: "\(name) does not parse: \(error)")
            }
        }
        let state = try decode(TrainerState.self, CheckpointDirectory.trainerStateName)
        let scheduler = try decode(SchedulerState.self, CheckpointDirectory.schedulerName)
        var rankState: RankState?
        if state.worldSize == worldSize {
            let saved = try decode(RankState.self, CheckpointDirectory.rankStateName(rank))
            guard saved.rank == rank, saved.globalStep == state.globalStep, saved.generator != nil else {
                throw CheckpointError.corrupt(
                    directory: directory.path,
                    reason:
                        "\(CheckpointDirectory.rankStateName(rank)) is of rank \(saved.rank) at step \(saved.globalStep), expected rank \(rank) at step \(state.globalStep)"
                )
            }
            rankState = saved
        }
        return ResumedCheckpoint(
            directory: directory, trainerState: state, scheduler: scheduler, rankState: rankState,
            logHistory: try data(CheckpointDirectory.logHistoryName))
    }

    /// Copies the checkpoint's model into `model.store`.
    public func restoreModel(_ model: any SequenceModel) throws {
        try Self.loadWeights(of: directory, into: model.store, names: model.tensorNames)
    }

    /// Restores AdamW's step count and moments.
    public func restoreOptimizer(_ optimizer: AdamW) throws {
        let path = directory.appendingPathComponent(CheckpointDirectory.optimizerName).path
        let file = try SafeTensorsFile(path: path)
        guard let step = file.metadata["step"].flatMap(Int.init), step == trainerState.globalStep else {
            throw CheckpointError.corrupt(
                directory: directory.path, reason: "\(CheckpointDirectory.optimizerName) has no step \(trainerState.globalStep) in its metadata")
        }
        let m = try file.floats("exp_avg", shape: [optimizer.parameterCount])
        let v = try file.floats("exp_avg_sq", shape: [optimizer.parameterCount])
        try m.withUnsafeBufferPointer { m in
            try v.withUnsafeBufferPointer { v in try optimizer.loadState(stepCount: step, firstMoment: m, secondMoment: v) }
        }
    }

    /// The best model's parameters (for `load_best_model_at_end`): from the best checkpoint under
    /// `output` when it is there and complete, else from this checkpoint's `best_model.safetensors`;
    /// nil when no best was recorded.
    public func bestParameters(output: URL, store: ParameterStore, names: any ModelTensorNaming) throws -> [Float]? {
        guard trainerState.bestGlobalStep != nil else { return nil }
        var values = [Float](repeating: 0, count: store.count)
        let own = directory.appendingPathComponent(CheckpointDirectory.bestModelName)
        if FileManager.default.fileExists(atPath: own.path) {
            let file = try SafeTensorsFile(path: own.path)
            try values.withUnsafeMutableBufferPointer { try file.copyFloats("parameters", into: $0) }
            return values
        }
        guard let name = trainerState.bestModelCheckpoint else { return nil }
        let best = name == directory.lastPathComponent ? directory : output.appendingPathComponent(name, isDirectory: true)
        try CheckpointDirectory.verify(best)
        let scratch = ParameterStore(layout: store.views.map { ($0.name, $0.shape) })
        // An adapter checkpoint holds the trained tensors only: the rest are the current (frozen) values.
        scratch.values.baseAddress!.update(from: store.values.baseAddress!, count: store.count)
        try Self.loadWeights(of: best, into: scratch, names: names)
        values.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: scratch.values.baseAddress!, count: store.count) }
        return values
    }

    /// Reads a `HuggingFaceExport` model file into `store`: encoder tensors carry the family's
    /// base prefix (`bert.`), the head's do not.
    /// Reads a checkpoint's weights into `store`: its adapter tensors when it holds an adapter
    /// (the store's other values are left as they are), else its whole model.
    static func loadWeights(of checkpoint: URL, into store: ParameterStore, names: any ModelTensorNaming) throws {
        let adapterFile = checkpoint.appendingPathComponent(CheckpointDirectory.adapterWeightsName)
        guard FileManager.default.fileExists(atPath: adapterFile.path) else {
            return try loadModel(checkpoint.appendingPathComponent(CheckpointDirectory.modelName), into: store, names: names)
        }
        let adapter = try PEFTAdapter.read(directory: checkpoint)
        for tensor in adapter.tensors {
            guard store.contains(tensor.name), store.view(tensor.name).shape == tensor.shape else {
                throw CheckpointError.incompatible("\(adapterFile.path): \(tensor.name) \(tensor.shape) does not fit this run's model")
            }
            store.value(tensor.name).update(from: tensor.values, count: tensor.values.count)
        }
    }

    static func loadModel(_ url: URL, into store: ParameterStore, names: any ModelTensorNaming) throws {
        let file = try SafeTensorsFile(path: url.path)
        for view in store.views {
            try file.copyFloats(
                names.checkpointName(view.name),
                into: UnsafeMutableBufferPointer(start: store.value(view.name), count: view.count))
        }
    }
}
