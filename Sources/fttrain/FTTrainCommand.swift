import ArgumentParser

/// `fttrain`: fine-tune and run BERT-family encoders on CPU clusters.
@main
struct FTTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fttrain",
        abstract: "Fine-tune and run BERT-family encoders on CPUs.",
        subcommands: [
            TrainCommand.self, PredictCommand.self, TokenizeCommand.self, EmbedCommand.self, BenchCommand.self, PartitionCommand.self,
            FederatedCommand.self, FederatedKeygenCommand.self,
            DiffWeightsCommand.self, QuantizeCommand.self,
        ]
    )
}
