import ArgumentParser
import FTTrain
import Foundation

extension TextAugmentation.Unit: ExpressibleByArgument {}

/// `fttrain data augment`: EDA copies of each row's text, labels kept.
struct DataAugmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "Add EDA-augmented copies of each row (synonym replacement, random insertion, swap, deletion).",
        discussion: """
            Each row is written followed by --copies augmented rows, each made by one operation in \
            turn (those with a rate above 0); other columns, the label included, are copied. Words \
            are whitespace-separated; Chinese text (--unit auto or char) is edited on characters, or with \
            --words on the listed words (longest match first). \
            Synonyms come from --synonyms (one group per line: good, great, fine). Seeded.
              fttrain data augment --input train.csv --output train.aug.csv --synonyms syn.txt --copies 4
            """)

    @Option(help: "The data file (CSV, TSV or JSON Lines).")
    var input: String

    @Option(help: "Where the rows and their augmented copies go (same format).")
    var output: String

    @Option(help: "The text column.")
    var textColumn: String = "text"

    @Option(help: "Augmented copies per row.")
    var copies: Int = 4

    @Option(help: "Synonym groups, one per line (needed for synonym replacement and insertion).")
    var synonyms: String?

    @Option(help: "Chinese words, one per line (a jieba dictionary works): Chinese text is cut into them instead of characters.")
    var words: String?

    @Option(help: "Synonym replacement rate (fraction of units replaced).")
    var sr: Double = 0.1

    @Option(help: "Random insertion rate.")
    var ri: Double = 0.1

    @Option(help: "Random swap rate.")
    var rs: Double = 0.1

    @Option(help: "Random deletion probability per unit.")
    var rd: Double = 0.1

    @Option(help: "Edit words, characters, or decide per text (auto: characters when it holds Chinese).")
    var unit: TextAugmentation.Unit = .auto

    @Option(help: "Seed.")
    var seed: UInt64 = 42

    func validate() throws {
        for (name, rate) in [("--sr", sr), ("--ri", ri), ("--rs", rs), ("--rd", rd)] where !(rate >= 0 && rate <= 1) {
            throw ValidationError("\(name) must be between 0 and 1, got \(rate)")
        }
        if copies < 1 { throw ValidationError("--copies must be at least 1, got \(copies)") }
        if synonyms == nil && (sr > 0 || ri > 0) {
            throw ValidationError("synonym replacement and insertion need --synonyms FILE (or set --sr 0 --ri 0)")
        }
    }

    func run() throws {
        let table = try synonyms.map(TextAugmentation.readSynonyms) ?? [:]
        let augmentation = TextAugmentation(
            rates: [.synonymReplacement: sr, .randomInsertion: ri, .randomSwap: rs, .randomDeletion: rd], unit: unit, synonyms: table,
            words: try words.map(TextAugmentation.readWords) ?? [])
        let report = try AugmentedFile.augment(
            input: input, output: output, textColumn: textColumn, copies: copies, augmentation: augmentation, seed: seed)
        FileHandle.standardError.write(Data((report.summary + "\n").utf8))
        print("wrote \(output)")
    }
}
