import FTCore
import Foundation

extension TrainingRun {
    /// Collective: rank 0 picks the checkpoint (`latest` or a directory; sums verified, damaged
    /// ones reported and skipped), tells the others its step, and every rank reads it.
    func openCheckpoint(_ request: String, output: URL, log: TrainingLog) throws -> ResumedCheckpoint {
        var chosen: URL?
        var failure: Error?
        if world.isCoordinator {
            do { chosen = try CheckpointDirectory.resolve(request, output: output, note: log.message) } catch { failure = error }
        }
        guard try world.allRanksSucceeded(failure == nil) else {
            throw failure ?? CheckpointError.notFound("rank 0 found no checkpoint to resume from (\(request))")
        }
        // The step travels as two 24-bit halves, exact in float32.
        let step = chosen.flatMap { CheckpointDirectory.step(ofName: $0.lastPathComponent) } ?? 0
        var halves: [Float] = [Float(step >> 24), Float(step & 0xFF_FFFF)]
        try world.broadcastFromCoordinator(&halves, count: 2)
        let directory =
            chosen
            ?? (request == "latest"
                ? output.appendingPathComponent(CheckpointDirectory.name(step: Int(halves[0]) << 24 | Int(halves[1])), isDirectory: true)
                : URL(fileURLWithPath: request, isDirectory: true))
        var checkpoint: ResumedCheckpoint?
        do { checkpoint = try ResumedCheckpoint.read(directory, rank: world.rank, worldSize: world.size) } catch { failure = error }
        guard try world.allRanksSucceeded(failure == nil), let checkpoint else {
            throw failure ?? CheckpointError.corrupt(directory: directory.path, reason: "another rank could not read it")
        }
        return checkpoint
    }

    /// The run's plan, from the configuration, the training set's size and the world; a resumed
    /// run keeps its checkpoint's global batch (through the accumulation, on another number of
    /// ranks), schedule and total steps.
    func makePlan(trainExamples: Int, parameterCount: Int, resumed: ResumedCheckpoint?, log: TrainingLog) throws -> TrainingPlan {
        guard let resumed else { return try TrainingPlan(configuration: configuration, trainExamples: trainExamples, ranks: world.size) }
        let accumulation = try resumedAccumulation(
            resumed.trainerState, trainExamples: trainExamples,
            parameterCount: parameterCount, log: log)
        return try TrainingPlan(configuration: configuration, trainExamples: trainExamples, ranks: world.size, accumulation: accumulation)
            .continuing(resumed.scheduler, totalSteps: resumed.trainerState.maxSteps, note: log.message)
    }

    /// Where the loop starts: step 0, or the checkpoint's model, optimizer, log and progress.
    func startingProgress(_ resumed: ResumedCheckpoint?, stepper: ClassificationStep, output: URL, log: TrainingLog) throws -> TrainingProgress {
        let c = configuration
        let dropout = SeededRNG(seed: c.rngSeed, stream: RandomStreams.dropout(rank: world.rank))
        let rules = BestModelTracker(configuration: c)
        guard let resumed else { return TrainingProgress(dropout: dropout, bestModel: rules) }
        try resumed.restoreModel(stepper.model)
        try resumed.restoreOptimizer(stepper.optimizer)
        log.restore(history: resumed.logHistory)
        let progress = try TrainingProgress(restoring: resumed.trainerState, rank: resumed.rankState, freshDropout: dropout, rules: rules) {
            try resumed.bestParameters(output: output, store: stepper.model.store, names: stepper.model.tensorNames) ?? []
        }
        log.message("resumed from \(resumed.directory.path) at step \(progress.step) (epoch \(progress.epoch), step \(progress.updateInEpoch) of it)")
        return progress
    }

    /// The gradient accumulation that keeps the checkpoint's global batch on this world (the
    /// configured one when the number of ranks is unchanged); throws when the checkpoint cannot
    /// continue this run.
    func resumedAccumulation(_ state: TrainerState, trainExamples: Int, parameterCount: Int, log: TrainingLog) throws -> Int {
        let c = configuration
        guard state.seed == c.seed else {
            throw CheckpointError.incompatible("the checkpoint was trained with seed \(state.seed), this run has seed \(c.seed)")
        }
        guard state.trainExamples == trainExamples, state.parameterCount == parameterCount else {
            throw CheckpointError.incompatible(
                "the checkpoint has \(state.trainExamples) training examples and \(state.parameterCount) parameters, "
                    + "this run \(trainExamples) and \(parameterCount): another data set or model")
        }
        let perStep = c.perDeviceTrainBatchSize * world.size
        let global = state.globalBatchSize
        if perStep * c.gradientAccumulationSteps == global { return c.gradientAccumulationSteps }
        guard global % perStep == 0 else {
            throw CheckpointError.incompatible(
                "the checkpoint's global batch is \(global) (\(state.perDeviceTrainBatchSize) × \(state.worldSize) ranks × \(state.gradientAccumulationSteps)); "
                    + "\(c.perDeviceTrainBatchSize) per device × \(world.size) ranks does not divide it")
        }
        let accumulation = global / perStep
        log.message(
            "resuming a \(state.worldSize)-rank checkpoint on \(world.size) rank\(world.size == 1 ? "" : "s"): "
                + "gradient_accumulation_steps \(accumulation) keeps the global batch of \(global)")
        return accumulation
    }
}
