import Foundation

/// Thrown from a trial's evaluation to stop it where the pruner said so.
public struct TrialPruned: Error, Sendable, CustomStringConvertible {
    public let evaluation: Int
    public var description: String { "pruned by ASHA at evaluation \(evaluation)" }
}

/// Runs one trial in this process as a normal training run (`DIR/trial-0007/`): the base
/// configuration with the trial's values and its own `output_dir`, written as `config.yaml`; at
/// every evaluation the metric is handed to `decide`, which says whether to stop. A stopped run
/// keeps its directory and is marked `pruned` in its `trial.json`.
public struct TrialRunner {
    public let base: TrainingConfiguration
    public let space: SearchSpace
    public let directory: URL

    public init(base: TrainingConfiguration, space: SearchSpace, directory: URL) {
        self.base = base
        self.space = space
        self.directory = directory
    }

    /// The trial's configuration: base, then the sampled values, then its `output_dir`.
    public func configuration(for assignment: TrialAssignment) throws -> TrainingConfiguration {
        var overrides: [String] = []
        for parameter in space.parameters {
            guard let value = assignment.parameters[parameter.name] else { continue }
            overrides += ["--" + parameter.name, value.flagText]
        }
        var c = try base.applyingOverrides(overrides)
        c.outputDir = directory.appendingPathComponent(TrialRecord.directoryName(assignment.number)).path
        c.resumeFromCheckpoint = nil
        try c.validate()
        return c
    }

    /// Runs the trial; a failure of the trial itself is not thrown (the record says `failed`).
    /// - Throws: `TrainingInterrupted` when the study was asked to stop (SIGTERM): the trial has
    ///   not ended and is run again when the study resumes.
    /// - Parameters:
    ///   - world: the ranks training this trial together; its coordinator writes the directory.
    ///   - decide: called on every rank at each evaluation with its number and the metric;
    ///     true stops the trial (every rank of `world` must get the same answer).
    ///   - prepare: a last look at the run before it starts (`stepObserver` for rank 0's service).
    public func run(
        _ assignment: TrialAssignment, world: TrainingWorld = SingleProcessWorld(),
        decide: @escaping (_ evaluation: Int, _ value: Double) throws -> Bool,
        prepare: (TrainingRun) -> Void = { _ in }, log: (String) -> Void = { _ in }
    ) throws -> TrialRecord {
        let started = Date()
        var record = TrialRecord(number: assignment.number, state: .failed, parameters: assignment.parameters)
        record.started = started.timeIntervalSince1970
        let trialDirectory = directory.appendingPathComponent(TrialRecord.directoryName(assignment.number))
        do {
            let configuration = try self.configuration(for: assignment)
            if world.isCoordinator {
                // A trial that was running when the study was killed starts afresh.
                try? FileManager.default.removeItem(at: trialDirectory)
                try FileManager.default.createDirectory(at: trialDirectory, withIntermediateDirectories: true)
                try configuration.yamlString().write(
                    to: trialDirectory.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
            }
            let run = TrainingRun(configuration: configuration, world: world)
            run.lineageCommand = "tune"
            let metric = space.metric
            var evaluations: [Double] = []
            var rungs: [Int: Double] = [:]
            let halving =
                space.pruner == .asha
                ? SuccessiveHalving(minResource: space.minResource, reductionFactor: space.reductionFactor, direction: space.direction)
                : nil
            run.evaluationObserver = { evaluation, _, metrics in
                guard let value = metrics[metric] else {
                    throw ConfigurationError(
                        source: "space",
                        problems: [
                            .init(
                                kind: .invalidValue, key: "metric",
                                message:
                                    "metric `\(metric)` is not among the evaluation's: " + metrics.keys.sorted().joined(separator: ", "))
                        ])
                }
                evaluations.append(value)
                if halving?.rung(atResource: evaluation) != nil { rungs[evaluation] = value }
                let stop = try decide(evaluation, value)
                if stop { throw TrialPruned(evaluation: evaluation) }
            }
            prepare(run)
            log("\(TrialRecord.directoryName(assignment.number)): " + describe(assignment))
            do {
                let metrics = try run.run()
                record.state = .complete
                record.value = metrics[metric]
                if world.isCoordinator && record.value == nil {
                    record.state = .failed
                    record.error = "metric `\(metric)` is not among the final metrics"
                }
            } catch let pruned as TrialPruned {
                record.state = .pruned
                log("\(TrialRecord.directoryName(assignment.number)): \(pruned)")
            }
            record.evaluations = evaluations
            record.rungs = rungs
        } catch let interrupted as TrainingInterrupted {
            throw interrupted
        } catch {
            record.state = .failed
            record.error = "\(error)"
            log("\(TrialRecord.directoryName(assignment.number)) failed: \(error)")
        }
        record.seconds = Date().timeIntervalSince(started)
        if world.isCoordinator { try? writeTrialFile(record, to: trialDirectory) }
        return record
    }

    /// `learning_rate=3e-05 per_device_train_batch_size=16 …`
    public func describe(_ assignment: TrialAssignment) -> String {
        space.parameters.compactMap { p in assignment.parameters[p.name].map { "\(p.name)=\($0.displayText)" } }.joined(separator: " ")
    }

    /// `trial.json` in the run directory: the record, its state (`complete`, `pruned`, `failed`).
    private func writeTrialFile(_ record: TrialRecord, to trialDirectory: URL) throws {
        try FileManager.default.createDirectory(at: trialDirectory, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: record.jsonObject, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: trialDirectory.appendingPathComponent("trial.json"), options: .atomic)
    }
}
