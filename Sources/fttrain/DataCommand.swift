import ArgumentParser

/// `fttrain data`: tools that prepare data before training (anonymisation, annotator agreement).
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare data: anonymise identifiers, measure annotator agreement.",
        subcommands: [DataAnonymizeCommand.self, DataAgreementCommand.self])
}
