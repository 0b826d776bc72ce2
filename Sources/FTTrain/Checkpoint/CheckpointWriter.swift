import FTCore
import FTModel
import Foundation

/// Everything a checkpoint holds, as the trainer hands it over at a step boundary.
public struct CheckpointContents {
    public var model: any SequenceModel
    public var labels: [String]
    public var baseModelDirectory: URL
    public var optimizer: AdamW
    public var schedule: LearningRateSchedule
    public var trainerState: TrainerState
    /// This rank's generator and cursor.
    public var rankState: RankState
    /// The exact lines of `log.jsonl` so far.
    public var logHistory: Data
    /// The best model's parameters, when it must travel with this checkpoint (see
    /// `CheckpointDirectory.bestModelName`); nil otherwise.
    public var bestParameters: [Float]?
}

/// Writes `OUT/checkpoint-<step>/` collectively, so that it either appears complete or not at all:
///
/// 1. rank 0 exports the model into `OUT/.checkpoint-<step>.partial/`;
/// 2. every rank writes and fsyncs its `rng_state_<rank>.json` there (the output directory must be
///    one every rank sees, as Hugging Face assumes);
/// 3. rank 0 writes optimizer, scheduler, trainer state and log history, fsyncs every file, writes
///    `SHA256SUMS`, then the `DONE` marker, renames the directory into place and fsyncs `OUT`;
/// 4. `save_total_limit` rotation: the oldest checkpoints go, never the best one.
///
/// Each phase ends with a collective agreement, so a failure on any rank throws on every rank
/// and the partial directory is removed.
public final class CheckpointWriter {
    public let output: URL
    public let world: TrainingWorld
    /// `save_total_limit`; nil keeps every checkpoint.
    public let totalLimit: Int?

    public init(output: URL, world: TrainingWorld, totalLimit: Int?) {
        self.output = output
        self.world = world
        self.totalLimit = totalLimit
    }

    /// Collective. Returns the checkpoint directory and the checkpoints rotation removed.
    @discardableResult
    public func save(_ contents: CheckpointContents) throws -> (directory: URL, removed: [URL]) {
        let step = contents.trainerState.globalStep
        let name = CheckpointDirectory.name(step: step)
        let final = output.appendingPathComponent(name, isDirectory: true)
        // `.checkpoint-<step>.partial`: one name every rank finds.
        let staged = StagedDirectory(destination: final, unique: false)
        let staging = staged.url
        let fileManager = FileManager.default
        let coordinator = world.isCoordinator
        var failure: Error?
        func agree(_ what: String) throws {
            if try world.allRanksSucceeded(failure == nil) { return }
            if coordinator { staged.discard() }
            throw failure ?? CheckpointError.writeFailed("another rank failed while \(what) \(staging.path)")
        }

        if coordinator {
            do {
                // Staging directories left by interrupted writes (rank 0 is the only writer here).
                for leftover in (try? fileManager.contentsOfDirectory(atPath: output.path)) ?? []
                where leftover.hasPrefix("." + CheckpointDirectory.prefix) && leftover.hasSuffix(".partial") {
                    try? fileManager.removeItem(at: output.appendingPathComponent(leftover))
                }
                if contents.model.peft != nil {
                    try Self.writeAdapter(contents, into: staging)
                } else {
                    try HuggingFaceExport.write(
                        model: contents.model, labels: contents.labels,
                        baseModelDirectory: contents.baseModelDirectory, to: staging)
                }
            } catch { failure = error }
        }
        try agree("rank 0 created")

        do {
            let data = try Self.encoder.encode(contents.rankState)
            try staged.write(data, to: CheckpointDirectory.rankStateName(world.rank), durable: true)
        } catch {
            failure = CheckpointError.writeFailed(
                "rank \(world.rank) cannot write its state into \(staging.path) "
                    + "(output_dir must be a directory every rank sees): \(error)")
        }
        try agree("writing per-rank state into")

        var removed: [URL] = []
        if coordinator {
            do {
                try writeCoordinatorFiles(contents, into: staging)
                for rank in 0..<world.size
                where !fileManager.fileExists(atPath: staging.appendingPathComponent(CheckpointDirectory.rankStateName(rank)).path) {
                    throw CheckpointError.writeFailed("rank \(rank)'s \(CheckpointDirectory.rankStateName(rank)) did not arrive in \(staging.path)")
                }
                try staged.syncContents()
                try CheckpointDirectory.writeManifest(in: staging)
                try staged.write(Data("global_step \(step)\n".utf8), to: CheckpointDirectory.markerName, durable: true)
                // A directory of that name can only be a leftover of an interrupted future (a run
                // resumed from an earlier checkpoint): the commit replaces it.
                try staged.commit(durable: true)
                removed = try Self.rotate(
                    in: output, limit: totalLimit, keeping: [name, contents.trainerState.bestModelCheckpoint].compactMap { $0 })
            } catch { failure = error }
        }
        try agree("rank 0 completed")
        return (final, removed)
    }

    /// A LoRA or adapter run's model part: the adapter in PEFT's files at the checkpoint's top
    /// level (`adapter_config.json`, `adapter_model.safetensors`), as Hugging Face's Trainer saves
    /// PEFT checkpoints; the frozen base weights are the base model's and are not copied.
    private static func writeAdapter(_ contents: CheckpointContents, into staging: URL) throws {
        let adapter = staging.appendingPathComponent(".adapter", isDirectory: true)
        try PEFTAdapter.write(
            model: contents.model, to: adapter, baseModelName: contents.baseModelDirectory.path,
            extraFiles: try PEFTTraining.labelsFiles(contents.labels))
        for file in try FileManager.default.contentsOfDirectory(atPath: adapter.path) {
            try FileManager.default.moveItem(at: adapter.appendingPathComponent(file), to: staging.appendingPathComponent(file))
        }
        try FileManager.default.removeItem(at: adapter)
    }

    private func writeCoordinatorFiles(_ contents: CheckpointContents, into staging: URL) throws {
        let optimizer = contents.optimizer
        var moments = SafeTensorsWriter(metadata: [
            "format": "pt", "step": String(optimizer.stepCount),
            "optimizer": "AdamW",
        ])
        try moments.add("exp_avg", shape: [optimizer.parameterCount], floats: UnsafeBufferPointer(optimizer.firstMoment))
        try moments.add("exp_avg_sq", shape: [optimizer.parameterCount], floats: UnsafeBufferPointer(optimizer.secondMoment))
        try moments.write(toPath: staging.appendingPathComponent(CheckpointDirectory.optimizerName).path)
        if let best = contents.bestParameters {
            var writer = SafeTensorsWriter(metadata: ["format": "pt", "global_step": String(contents.trainerState.bestGlobalStep ?? -1)])
            try writer.add("parameters", shape: [best.count], floats: best)
            try writer.write(toPath: staging.appendingPathComponent(CheckpointDirectory.bestModelName).path)
        }
        try DurableFile.save(
            try Self.encoder.encode(SchedulerState(contents.schedule, lastStep: optimizer.stepCount)),
            to: staging.appendingPathComponent(CheckpointDirectory.schedulerName))
        try DurableFile.save(
            try Self.encoder.encode(contents.trainerState),
            to: staging.appendingPathComponent(CheckpointDirectory.trainerStateName))
        try DurableFile.save(contents.logHistory, to: staging.appendingPathComponent(CheckpointDirectory.logHistoryName))
    }

    /// Removes the oldest checkpoints until at most `limit` remain, never one named in `keeping`
    /// (the one just written and the best); so with the best older than the newest and a limit
    /// of 1, two remain, as in Hugging Face. Returns what it removed.
    public static func rotate(in output: URL, limit: Int?, keeping: [String]) throws -> [URL] {
        guard let limit else { return [] }
        var all = CheckpointDirectory.list(in: output)
        let protected = Set(keeping)
        let keep = max(limit, all.filter { protected.contains($0.url.lastPathComponent) }.count)
        var removed: [URL] = []
        while all.count > keep, let index = all.firstIndex(where: { !protected.contains($0.url.lastPathComponent) }) {
            try FileManager.default.removeItem(at: all[index].url)
            removed.append(all[index].url)
            all.remove(at: index)
        }
        return removed
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}
