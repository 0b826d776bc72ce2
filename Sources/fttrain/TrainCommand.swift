import ArgumentParser
import FTCore
import FTDist
import FTDistTraining
import FTTrain
import Foundation

/// `fttrain train`: fine-tune a sequence classifier from a config file and/or flags.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a pretrained encoder as a text classifier, or a decoder language model (task causal_lm: SFT).",
        discussion: """
            Under mpirun every rank trains a replica on its shard of the data and gradients are averaged \
            by a ring all-reduce (global batch = per-device batch × ranks × accumulation); rank 0 logs, \
            evaluates and writes. Set OPENBLAS_NUM_THREADS per rank (cores ÷ ranks).

            Settings come from --config (YAML or JSON, keys as Hugging Face TrainingArguments) and from \
            flags of the same names in kebab-case, which win over the file:
              fttrain train --config examples/rotten_tomatoes.yaml --learning-rate 3e-5 --num-train-epochs 2

            Settings:
            \(TrainingConfiguration.helpText())
            """)

    @Option(help: "A YAML or JSON file of settings.")
    var config: String?

    @Option(
        help: "Threads fttrain computes on, each running single-threaded OpenBLAS (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    @Option(
        name: .customLong("resume-from"),
        help: "Continue from a checkpoint: latest (the newest complete one in output_dir) or its directory (the setting resume_from_checkpoint).")
    var resumeFrom: String?

    /// Every other flag is a setting (`--learning-rate 3e-5`), checked by the configuration.
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var settings: [String] = []

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    /// The settings given as flags, `--resume-from` included.
    private var overrides: [String] {
        settings + (resumeFrom.map { ["--resume-from-checkpoint", $0] } ?? [])
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        // SIGTERM/SIGINT: checkpoint at the next step boundary, then exit with 128 + the signal.
        PreemptionSignal.install()
        guard MPICommunicator.isLaunchedByMPIRun else {
            do {
                let run = TrainingRun(configuration: try TrainingConfiguration.resolve(configFile: config, overrides: overrides))
                if let config { run.lineageInputs = [("config", config)] }
                try report(run.run())
            } catch let interrupted as TrainingInterrupted {
                FileHandle.standardError.write("\(interrupted)\n".data(using: .utf8)!)
                throw ExitCode(128 + interrupted.signal)
            }
            return
        }
        // Under mpirun: an error on any rank ends the whole job (MPI_Abort) rather than leaving
        // the other ranks waiting in a collective forever.
        let communicator = try MPICommunicator.initialize()
        do {
            let resolved = try TrainingConfiguration.resolve(configFile: config, overrides: overrides)
            communicator.timeout = Double(resolved.ddpTimeout)
            let world = try CommunicatorWorld(
                communicator: communicator, bf16: resolved.ddpBF16Compression,
                algorithm: AllReduceAlgorithm(rawValue: resolved.ddpAllreduceAlgorithm.rawValue)!,
                costModel: try resolved.ddpCostModel.map { try AllReduceCostModel.load(contentsOf: $0) } ?? .defaults)
            if communicator.rank == 0 {
                let reducer = world.gradientReducer
                FileHandle.standardError.write(
                    Data("gradient all-reduce: \(reducer.algorithm.rawValue) over \(reducer.layout) (cost model: \(reducer.costModel.source))\n".utf8))
            }
            let run = TrainingRun(configuration: resolved, world: world)
            if let config { run.lineageInputs = [("config", config)] }
            let metrics = try run.run()
            if communicator.rank == 0 { report(metrics) }
            try communicator.finalize()
        } catch let interrupted as TrainingInterrupted {
            // Every rank agreed to stop at this step and the checkpoint is complete: a clean end.
            if communicator.rank == 0 { FileHandle.standardError.write("\(interrupted)\n".data(using: .utf8)!) }
            try? communicator.finalize()
            throw ExitCode(128 + interrupted.signal)
        } catch {
            FileHandle.standardError.write("Error (rank \(communicator.rank)): \(error)\n".data(using: .utf8)!)
            communicator.abort(errorCode: 1)
        }
    }

    /// The final metrics on stdout, one `key: value` per line (test_* first when present).
    private func report(_ metrics: [String: Double]) {
        let keys = metrics.keys.sorted { ($0.hasPrefix("test_") ? 0 : 1, $0) < ($1.hasPrefix("test_") ? 0 : 1, $1) }
        for key in keys { print("\(key): \(String(format: "%.4f", metrics[key]!))") }
    }
}
