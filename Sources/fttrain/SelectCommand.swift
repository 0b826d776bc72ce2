import ArgumentParser
import FTCore
import FTDist
import FTDistTraining
import FTTrain
import Foundation

extension SelectionStrategy: ExpressibleByArgument {}

/// `fttrain select`: active learning — which unlabelled rows to label next.
struct SelectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select",
        abstract: "Rank an unlabelled pool for labelling with a fine-tuned classifier and write the chosen rows.",
        discussion: """
            Strategies: least-confidence (1 - max p, highest first), margin (p1 - p2, smallest first), \
            entropy (nats, highest first), kcenter (k-center greedy on the mean-pooled embeddings, \
            Sener & Savarese's core-set; --labeled adds the labelled rows as the first centres), random \
            (a seeded draw per row). Ties go to the earlier row. The output has the pool's columns \
            (same format), then score and rank, best first.
            Under mpirun each rank scores its share of the batches and rank 0 writes; the output is \
            the single-process output, byte for byte.
              fttrain select --model-dir runs/rt/model --pool unlabelled.csv --budget 200 --strategy entropy --output next.csv
            """)

    @OptionGroup var model: ModelDirectoryOption

    @OptionGroup var inference: ClassifierInferenceOptions

    @Option(help: "The unlabelled rows: CSV, TSV or JSON Lines with a text column.")
    var pool: String

    @Option(help: "How many rows to choose.")
    var budget: Int

    @Option(help: "least-confidence, margin, entropy, kcenter or random.")
    var strategy: SelectionStrategy

    @Option(help: "Where the chosen rows go (same format as the pool).")
    var output: String

    @Option(help: "Rows already labelled (same text column): k-center's first centres.")
    var labeled: String?

    @Option(name: .customLong("text-column"), help: "The text column of the pool (and of --labeled).")
    var textColumn = "text"

    @Option(name: .customLong("text-pair-column"), help: "The second-segment column, if the model takes pairs.")
    var textPairColumn: String?

    @Option(help: "Seeds random and k-center's first centre (when nothing is labelled).")
    var seed: UInt64 = 42

    func validate() throws {
        guard budget >= 1 else { throw ValidationError("--budget must be at least 1, got \(budget)") }
    }

    private var options: PoolSelectionOptions {
        var options = PoolSelectionOptions(poolPath: pool, budget: budget, strategy: strategy, labeledPath: labeled)
        options.textColumn = textColumn
        options.textPairColumn = textPairColumn
        options.seed = seed
        options.batchSize = inference.batchSize
        options.maxLength = inference.maxLength
        return options
    }

    func run() throws {
        inference.applyThreads()
        guard MPICommunicator.isLaunchedByMPIRun else {
            return try write(PoolSelection.select(modelDirectory: model.url, options: options))
        }
        // Under mpirun: an error on any rank ends the whole job rather than leaving the others waiting.
        let communicator = try MPICommunicator.initialize()
        do {
            let world = CommunicatorWorld(communicator: communicator, bf16: false)
            let result = try PoolSelection.select(modelDirectory: model.url, options: options, world: world)
            if communicator.rank == 0 { try write(result) }
            try communicator.finalize()
        } catch {
            FileHandle.standardError.write("Error (rank \(communicator.rank)): \(error)\n".data(using: .utf8)!)
            communicator.abort(errorCode: 1)
        }
    }

    private func write(_ result: (pool: DataTable, selected: [SelectedRow])) throws {
        try Data(PoolSelection.serialized(pool: result.pool, selected: result.selected).utf8)
            .write(to: URL(fileURLWithPath: output), options: .atomic)
        let scores = result.selected.map(\.score)
        FileHandle.standardError.write(
            Data(
                "selected \(result.selected.count) of \(result.pool.rows.count) rows by \(strategy.rawValue) (scores \(scores.min() ?? 0) to \(scores.max() ?? 0))\n"
                    .utf8))
        print("wrote \(output)")
    }
}
