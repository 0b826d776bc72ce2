import ArgumentParser
import FTModel
import FTTrain
import Foundation

/// `fttrain extend-vocab`: adds the characters (and optionally words) a corpus needs to a BERT
/// WordPiece model directory (``VocabularyExtension``).
struct ExtendVocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extend-vocab",
        abstract: "Add the characters (and words) a corpus lacks to a WordPiece model's vocabulary, with mean-initialised embedding rows.",
        discussion: """
            Counts, after the tokenizer's normalisation and pre-tokenisation, the characters of the \
            corpus that the vocabulary lacks (a word WordPiece turns into [UNK] needs its first \
            character, and ## + each later one), keeps those met at least --min-count times, most \
            frequent first, and appends them to vocab.txt (and tokenizer.json's model.vocab): ids after \
            the old ones, matched by WordPiece as the base vocabulary is. --words also adds the \
            whitespace-separated words (JSONL tokens) of 2-8 characters that take more than one \
            piece, as added tokens (tokenizer.add_tokens) after the characters. OUT is a complete \
            model directory: config.json's vocab_size, model.safetensors with the new rows set to the \
            mean of the old ones (resize_token_embeddings' centre), the tokenizer files, and \
            extend_vocab.json (the new ids and the [UNK] rate of the corpus before and after).
            Corpus formats: .csv/.tsv (the text column), .jsonl/.json (tokens, else text), any other \
            file one text per line.
              fttrain extend-vocab --model-dir M --corpus train.jsonl --output-dir M-zh --min-count 2
              fttrain extend-vocab --model-dir M --corpus test.jsonl --dry-run     # the [UNK] rate only
            """)

    @OptionGroup var model: ModelDirectoryOption

    @Option(name: .customLong("corpus"), parsing: .upToNextOption, help: "Corpus files (.txt lines, .csv/.tsv text column, .jsonl tokens or text).")
    var corpus: [String]

    @Option(name: .customLong("output-dir"), help: "Where to write the extended model directory (must not exist unless --force).")
    var outputDir: String?

    @Flag(name: .customLong("dry-run"), help: "Only count and print what would be added and the [UNK] rates; write nothing.")
    var dryRun = false

    @Option(name: .customLong("min-count"), help: "Add an entry only if the corpus needs it at least N times.")
    var minCount = 1

    @Flag(help: "Also add frequent multi-character words (whitespace-separated in text, JSONL tokens) as added tokens.")
    var words = false

    @Option(name: .customLong("max-new"), help: "At most N new ids (characters first, then words, most frequent first).")
    var maxNew: Int?

    @Flag(help: "Replace --output-dir if it exists.")
    var force = false

    func validate() throws {
        guard outputDir != nil || dryRun else { throw ValidationError("--output-dir is required (or --dry-run)") }
        guard !corpus.isEmpty else { throw ValidationError("--corpus needs at least one file") }
        guard minCount >= 1 else { throw ValidationError("--min-count must be at least 1, got \(minCount)") }
        if let maxNew, maxNew < 1 { throw ValidationError("--max-new must be at least 1, got \(maxNew)") }
        guard !model.isGGUF else {
            throw ValidationError("--model-dir: extend-vocab extends a WordPiece (BERT-family) model directory, not a GGUF file")
        }
    }

    func run() throws {
        var options = VocabularyExtension.Options()
        options.minCount = minCount
        options.words = words
        options.maxNew = maxNew
        options.dryRun = dryRun
        let texts = try VocabularyCorpus(paths: corpus)
        let output = outputDir ?? model.url.deletingLastPathComponent().appendingPathComponent("unused").path
        let summary = try VocabularyExtension(options: options).run(
            modelDirectory: model.url, corpus: texts, output: URL(fileURLWithPath: output, isDirectory: true), force: force)
        for (path, records) in texts.files { print("corpus \(path): \(records) records") }
        summary.lines.forEach { print($0) }
        if !dryRun { print("wrote \(output) (\(VocabularyExtension.summaryFile) lists the new ids)") }
    }
}
