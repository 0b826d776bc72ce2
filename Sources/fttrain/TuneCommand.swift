import ArgumentParser
import FTCore
import FTDist
import FTDistTraining
import FTTrain
import Foundation

/// `fttrain tune`: hyperparameter search (random or TPE) with ASHA early stopping; every trial a
/// normal run directory, the study resumable.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search hyperparameters: random or TPE sampling, ASHA early stopping, trials in parallel under mpirun.",
        discussion: """
            --space holds a distribution per setting and the study's own settings:
              sampler: tpe                  # random | tpe (Optuna's defaults)
              metric: eval_f1_macro
              direction: maximize           # maximize | minimize
              sampler_seed: 42
              n_startup_trials: 10          # TPE: random trials first
              pruner: asha                  # asha | none
              min_resource: 1               # ASHA: evaluations before the first rung
              reduction_factor: 3           # ASHA: 1 in this many trials goes on at each rung
              learning_rate: {loguniform: [1e-5, 1e-3]}
              per_device_train_batch_size: {choice: [8, 16, 32]}
              warmup_ratio: {uniform: [0, 0.2]}
              num_train_epochs: {int: [1, 4]}
              lora_target_modules: {choice: [[query, value], [query, key, value, dense]]}

            Writes DIR/trial-NNNN/ (a normal run directory, config.yaml = base + the trial's values, \
            trial.json with its state), DIR/study.jsonl (a line per ended trial), DIR/study.md (the \
            summary table) and DIR/best.yaml (for fttrain train --config). Running the same command \
            again on the same DIR continues the study: ended trials are not repeated, a trial killed \
            while running starts again; a changed --space or --config file is refused (their SHA-256 \
            sums are kept in DIR/study-inputs.json).

            Under mpirun -np N with --ranks-per-trial K, N/K groups each run a trial at a time, \
            data-parallel inside the group; rank 0 hands out trials and keeps the ASHA rungs.
            """)

    @Option(help: "The base training configuration (YAML or JSON) every trial starts from.")
    var config: String

    @Option(help: "The search space and study settings (YAML).")
    var space: String

    @Option(help: "Trials in the study (ended trials of a resumed study count).")
    var trials: Int

    @Option(help: "The study directory (default: the base configuration's output_dir).")
    var outputDir: String?

    @Option(help: "Ranks that train one trial together under mpirun (must divide the number of ranks).")
    var ranksPerTrial: Int = 1

    @Option(help: "Threads fttrain computes on per process (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    func validate() throws {
        if trials < 1 { throw ValidationError("--trials must be positive, got \(trials)") }
        if ranksPerTrial < 1 { throw ValidationError("--ranks-per-trial must be positive, got \(ranksPerTrial)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be positive, got \(threads)") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        PreemptionSignal.install()
        // Every setting and distribution is checked before any trial runs.
        let base = try TrainingConfiguration.load(path: config)
        let searchSpace = try SearchSpace.load(path: space)
        try searchSpace.check(against: base, source: space)
        guard let directory = outputDir ?? base.outputDir else {
            throw ValidationError("no study directory: pass --output-dir or set output_dir in \(config)")
        }
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let runner = TrialRunner(base: base, space: searchSpace, directory: url)
        let log: (String) -> Void = { print("[tune] " + $0) }
        guard MPICommunicator.isLaunchedByMPIRun else {
            do {
                let inputs = try StudyInputs(spacePath: space, configPath: config)
                let study = try Study(space: searchSpace, directory: url, trials: trials, inputs: inputs)
                study.decisionLog = log
                if !study.records.isEmpty { log("resuming: \(study.records.count) trials already ended") }
                print(try study.runInProcess(runner, log: log), terminator: "")
            } catch let interrupted as TrainingInterrupted {
                FileHandle.standardError.write(
                    "stopped by signal \(interrupted.signal): run the same command again to resume the study\n".data(using: .utf8)!)
                throw ExitCode(128 + interrupted.signal)
            }
            return
        }
        let communicator = try MPICommunicator.initialize()
        do {
            let study =
                communicator.rank == 0
                ? try Study(space: searchSpace, directory: url, trials: trials, inputs: StudyInputs(spacePath: space, configPath: config)) : nil
            study?.decisionLog = log
            if let study, !study.records.isEmpty { log("resuming: \(study.records.count) trials already ended") }
            let groups = try TuneGroups(
                world: communicator, ranksPerTrial: ranksPerTrial, study: study,
                split: { try communicator.split(color: $0, key: $1) })
            try groups.run(runner, log: { message in log("rank \(communicator.rank): " + message) })
            if let study { print(try study.writeSummary(), terminator: "") }
            try communicator.finalize()
        } catch let interrupted as TrainingInterrupted {
            // Other groups may be anywhere: leave without the collective MPI_Finalize.
            if communicator.rank == 0 {
                FileHandle.standardError.write(
                    "stopped by signal \(interrupted.signal): run the same command again to resume the study\n".data(using: .utf8)!)
            }
            Foundation.exit(128 + interrupted.signal)
        } catch {
            FileHandle.standardError.write("Error (rank \(communicator.rank)): \(error)\n".data(using: .utf8)!)
            communicator.abort(errorCode: 1)
        }
    }
}
