import FTCore
import Foundation

extension TrainingRun {
    /// The run's lineage record as it stands before the first step (no metrics yet): the data
    /// files and the exact splits, the base model's weights, the effective settings and the
    /// parent (the checkpoint a resumed run continues, else the base model's own record when it
    /// has one). Rank 0's work.
    func startLineage(
        modelPath: String, task: any FineTuningTask, plan: TrainingPlan, resumed: ResumedCheckpoint?
    ) throws -> LineageRecord {
        let c = configuration
        var inputs: [LineageInput] = []
        for (role, path) in [("train", c.trainFile), ("validation", c.validationFile), ("test", c.testFile)] {
            if let path { inputs.append(try LineageDigest.input(role: role, path: path)) }
        }
        for (role, path) in [("augment_synonyms", c.augment?.synonyms), ("augment_words", c.augment?.words)] {
            if let path { inputs.append(try LineageDigest.input(role: role, path: path)) }
        }
        for extra in lineageInputs { inputs.append(try LineageDigest.input(role: extra.role, path: extra.path)) }

        var settings = try JSONSerialization.jsonObject(with: JSONEncoder().encode(c)) as? [String: Any] ?? [:]
        settings["resolved"] =
            [
                "task": (try resolvedTask(modelPath: modelPath)).rawValue,
                "world_size": plan.ranks, "gradient_accumulation_steps": plan.accumulation,
                "global_batch_size": plan.globalBatchSize, "total_steps": plan.totalSteps,
                "steps_per_epoch": plan.updatesPerEpoch, "eval_steps": c.resolvedEvalSteps,
                "metric_for_best_model": c.resolvedMetricForBestModel, "greater_is_better": c.resolvedGreaterIsBetter,
                "threads": Parallel.threadCount, "train_examples": task.train.count,
                "validation_examples": task.validation.count, "test_examples": task.test.count,
            ] as [String: Any]

        let parent: LineageParent?
        if let resumed {
            parent = Self.lineageParent(resumed.directory.path)
        } else if FileManager.default.fileExists(atPath: LineageRecord.location(of: modelPath)) {
            parent = Self.lineageParent(modelPath)
        } else {
            parent = nil
        }
        return LineageRecord(
            command: lineageCommand, inputs: inputs,
            split: LineageDigest.splits(train: task.train, validation: task.validation, test: task.test),
            baseModel: try LineageDigest.model(at: modelPath), settings: settings, parent: parent)
    }

    /// The parent link to the run or model at `path`: its absolute path and, when it has a
    /// record, its `run_id`.
    public static func lineageParent(_ path: String) -> LineageParent {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let runId = try? LineageRecord.read(file: LineageRecord.location(of: path)).record.runId
        return LineageParent(runId: runId, path: absolute)
    }

    /// The finished run's record, with its metrics, into the output directory and every model
    /// directory it wrote (`model/`, `adapter/`).
    func writeLineage(_ start: LineageRecord, metrics: [String: Double], output: URL, log: TrainingLog) throws {
        var record = start
        record.created = Date()
        record.metrics = metrics
        let directories =
            [output]
            + ["model", "adapter"].map { output.appendingPathComponent($0, isDirectory: true) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        let runId = try record.write(into: directories)
        log.message("lineage.json (run \(runId.prefix(12))) written to \(directories.map(\.lastPathComponent).joined(separator: ", "))")
    }
}
