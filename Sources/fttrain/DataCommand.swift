import ArgumentParser

/// `fttrain data`: tools that prepare data before training (anonymisation, annotator agreement, EDA augmentation).
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare data: anonymise identifiers, measure annotator agreement, augment text (EDA).",
        subcommands: [DataAnonymizeCommand.self, DataAgreementCommand.self, DataAugmentCommand.self])
}
