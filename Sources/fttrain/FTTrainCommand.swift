import ArgumentParser

/// `fttrain`: fine-tune and run BERT-family encoders (and decoder language models) on CPU clusters.
@main
struct FTTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fttrain",
        abstract: "Fine-tune and run BERT-family encoders and Llama-family decoders on CPUs.",
        subcommands: [
            TrainCommand.self, PredictCommand.self, GenerateCommand.self, TokenizeCommand.self, EmbedCommand.self, BenchCommand.self,
            PartitionCommand.self,
            FederatedCommand.self, FederatedKeygenCommand.self, FederatedSignCommand.self,
            ExportCommand.self, QuantizeCommand.self, PruneCommand.self, DiffWeightsCommand.self, LogitsCommand.self,
            EncoderOutputsCommand.self,
            ServeCommand.self,
            LineageCommand.self,
            DataCommand.self,
            ReportCommand.self,
            ABReportCommand.self,
            TuneCommand.self,
            DistBenchCommand.self,
            SelectCommand.self, ExtendVocabCommand.self,
        ]
    )
}
