import FTCore
import FTModel
import Foundation

/// `fttrain extend-vocab`: the characters (and, with `words`, frequent words) of a corpus that a
/// BERT WordPiece vocabulary lacks, added to a copy of the model directory.
///
/// - Characters become ordinary **vocabulary entries** appended to `vocab.txt` (and to
///   `tokenizer.json`'s `model.vocab`), ids after the old ones in order of count: `"字"` for a
///   character that starts a word (every CJK character, which BERT's pre-tokenizer makes a word of
///   its own), `"##字"` for one inside a word (``WordPieceVocabularyCensus``). WordPiece then
///   matches them as it matches the base vocabulary; transformers loads `vocab.txt` (slow
///   tokenizer) and `tokenizer.json` (fast) with the same ids.
/// - Words (`words`) cannot be vocabulary entries — the pre-tokenizer cuts a Chinese word into
///   characters before WordPiece sees it — so they become added tokens after the characters, as
///   `tokenizer.add_tokens` makes them (`BertTokenizer.adding`, the `add_tokens` machinery).
/// - `model.safetensors` gets the rows (``EncoderModel/writeResizedWeights(modelDirectory:vocabularySize:to:)``:
///   the mean of the old rows, `resize_token_embeddings`' centre), `config.json` the new `vocab_size`.
public struct VocabularyExtension: Sendable {
    /// What to add.
    public struct Options: Sendable {
        /// Keep entries met at least this often.
        public var minCount = 1
        /// Also add multi-character words (whitespace-separated in text, or JSONL `tokens`).
        public var words = false
        /// At most this many new ids (characters first, then words, each by count); nil: no cap.
        public var maxNew: Int? = nil
        /// Count and measure only: no directory is written, and nothing to add is no error.
        public var dryRun = false
        public init() {}
    }

    /// The file naming the new ids, written into the output directory.
    public static let summaryFile = "extend_vocab.json"

    /// What was added and what it changed.
    public struct Summary: Sendable {
        /// Vocabulary entries appended (`"字"`, `"##字"`) with their counts, in id order.
        public var characters: [(token: String, count: Int)]
        /// Added words with their counts, in id order.
        public var words: [(token: String, count: Int)]
        /// `len(tokenizer)` before and after.
        public var vocabularyBefore: Int, vocabularyAfter: Int
        /// Coverage of the corpus before and after.
        public var before: WordPieceCoverage, after: WordPieceCoverage
        /// Entries met but under the minimum count (or over `maxNew`).
        public var leftOut: Int

        /// Lines for the terminal.
        public var lines: [String] {
            func rate(_ c: WordPieceCoverage) -> String {
                String(
                    format: "[UNK] %d of %d word pieces (%.2f%%), %d of %d characters (%.2f%%)", c.unknownPieces, c.pieces,
                    100 * c.unknownPieceRate, c.unknownCharacters, c.characters, 100 * c.unknownCharacterRate)
            }
            return [
                "added \(characters.count) vocabulary entries (ids \(vocabularyBefore)..<\(vocabularyBefore + characters.count)) and \(words.count) words; vocabulary \(vocabularyBefore) -> \(vocabularyAfter)",
                "left out \(leftOut) entries under the minimum count or over --max-new",
                "before: " + rate(before), "after:  " + rate(after),
            ]
        }
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    /// Counts `corpus` against `modelDirectory`'s tokenizer and writes the extended directory to
    /// `output` (replaced when `force`).
    /// - Throws: ``VocabularyExtensionError`` (bad model directory, existing output, nothing to add),
    ///   or the model loader's error naming the file.
    public func run(modelDirectory: URL, corpus: VocabularyCorpus, output: URL, force: Bool) throws -> Summary {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: modelDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VocabularyExtensionError.modelDirectory(modelDirectory.path, "no such directory")
        }
        for file in ["config.json", "vocab.txt", "model.safetensors"] where !fm.fileExists(atPath: modelDirectory.appendingPathComponent(file).path) {
            throw VocabularyExtensionError.modelDirectory(modelDirectory.path, "has no \(file) (a BERT-family WordPiece model directory is needed)")
        }
        if output.standardizedFileURL.path == modelDirectory.standardizedFileURL.path {
            throw VocabularyExtensionError.modelDirectory(modelDirectory.path, "is also the output directory: give another --output-dir")
        }
        if !options.dryRun && fm.fileExists(atPath: output.path) && !force { throw VocabularyExtensionError.outputExists(output.path) }
        let base = try BertTokenizer.load(modelDirectory: modelDirectory)

        var census = WordPieceVocabularyCensus(tokenizer: base, collectWords: options.words)
        Self.count(corpus, into: &census)
        var budget = options.maxNew ?? Int.max
        let characters = Self.select(census.missingOrder, counts: census.missing, minCount: options.minCount, budget: &budget)
        let source = corpus.files.map(\.path).joined(separator: ", ")
        var tokenizer = try base.appendingVocabulary(characters.map(\.token), source: source)
        var words: [(token: String, count: Int)] = []
        if options.words {
            let candidates = census.wordOrder.filter { tokenizer.encodeIds($0).count > 1 }
            words = Self.select(candidates, counts: census.words, minCount: options.minCount, budget: &budget)
            tokenizer = try tokenizer.adding(words.map(\.token), source: source).tokenizer
        }
        let met = census.missing.count + (options.words ? census.wordOrder.count : 0)
        guard !characters.isEmpty || !words.isEmpty || options.dryRun else {
            throw VocabularyExtensionError.nothingToAdd(
                census.missing.isEmpty && !options.words
                    ? "every character of the corpus is in the vocabulary of \(modelDirectory.path)"
                    : "no missing character\(options.words ? " or word" : "") is met at least \(options.minCount) times (--min-count)")
        }
        var after = WordPieceVocabularyCensus(tokenizer: tokenizer)
        Self.count(corpus, into: &after)
        let summary = Summary(
            characters: characters, words: words, vocabularyBefore: base.vocabularySize, vocabularyAfter: tokenizer.vocabularySize,
            before: census.coverage, after: after.coverage, leftOut: met - characters.count - words.count)
        if !options.dryRun { try write(summary, tokenizer: tokenizer, modelDirectory: modelDirectory, corpus: corpus, output: output) }
        return summary
    }

    static func count(_ corpus: VocabularyCorpus, into census: inout WordPieceVocabularyCensus) {
        for item in corpus.items {
            switch item {
            case .text(let text): census.add(text: text)
            case .words(let words): census.add(words: words)
            }
        }
    }

    /// `order`'s entries with at least `minCount`, by count (ties: first met), at most `budget`.
    static func select(_ order: [String], counts: [String: Int], minCount: Int, budget: inout Int) -> [(token: String, count: Int)] {
        typealias Entry = (index: Int, token: String, count: Int)
        var ranked: [Entry] = []
        for (index, token) in order.enumerated() {
            let count = counts[token] ?? 0
            if count >= minCount { ranked.append((index, token, count)) }
        }
        ranked.sort { (a: Entry, b: Entry) -> Bool in a.count != b.count ? a.count > b.count : a.index < b.index }
        let kept = ranked.prefix(max(0, budget))
        budget -= kept.count
        return kept.map { (token: $0.token, count: $0.count) }
    }

    /// Writes the directory into a temporary sibling, then moves it to `output`.
    private func write(_ summary: Summary, tokenizer: BertTokenizer, modelDirectory: URL, corpus: VocabularyCorpus, output: URL) throws {
        let fm = FileManager.default
        let staging = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: staging) }
        // Files the extension does not change (sentence-transformers modules, README, ...); other
        // weight formats would hold the old vocabulary and are left out.
        let rewritten: Set<String> = [
            "config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "added_tokens.json", Self.summaryFile,
        ]
        let weightSuffixes = [".safetensors", ".bin", ".h5", ".msgpack", ".onnx", ".ot", ".gguf", ".pt", ".pth", ".tflite"]
        func holdsWeights(_ url: URL) -> Bool {
            let paths = (fm.enumerator(atPath: url.path)?.allObjects as? [String]) ?? []
            return paths.contains { p in weightSuffixes.contains { p.lowercased().hasSuffix($0) } }
        }
        for name in try fm.contentsOfDirectory(atPath: modelDirectory.path) where !rewritten.contains(name) && !name.hasPrefix(".") {
            let source = modelDirectory.appendingPathComponent(name)
            if weightSuffixes.contains(where: { name.lowercased().hasSuffix($0) }) || holdsWeights(source) { continue }
            try fm.copyItem(at: source, to: staging.appendingPathComponent(name))
        }
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        var config = try ModelRegistry.readConfigJSON(path: configPath).object
        config["vocab_size"] = tokenizer.vocabularySize
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: staging.appendingPathComponent("config.json"), options: .atomic)
        try WordPieceAddedTokenFiles.write(tokenizer: tokenizer, base: modelDirectory, to: staging)
        try EncoderModel.writeResizedWeights(
            modelDirectory: modelDirectory, vocabularySize: tokenizer.vocabularySize, to: staging.appendingPathComponent("model.safetensors"))
        func coverage(_ c: WordPieceCoverage) -> [String: Any] {
            [
                "word_pieces": c.pieces, "unk_pieces": c.unknownPieces, "unk_piece_rate": c.unknownPieceRate,
                "characters": c.characters, "unk_characters": c.unknownCharacters, "unk_character_rate": c.unknownCharacterRate,
            ]
        }
        let first = summary.vocabularyBefore
        let record: [String: Any] = [
            "base_model": modelDirectory.path, "corpora": corpus.files.map { ["path": $0.path, "records": $0.records] },
            "min_count": options.minCount, "max_new": options.maxNew.map { $0 as Any } ?? NSNull(), "words": options.words,
            "vocab_size_before": first, "vocab_size_after": summary.vocabularyAfter,
            "new_ids": [first, summary.vocabularyAfter],
            "vocabulary_entries": summary.characters.enumerated().map {
                ["id": first + $0.offset, "token": $0.element.token, "count": $0.element.count]
            },
            "added_words": summary.words.enumerated().map {
                ["id": first + summary.characters.count + $0.offset, "token": $0.element.token, "count": $0.element.count]
            },
            "before": coverage(summary.before), "after": coverage(summary.after),
        ]
        try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            .write(to: staging.appendingPathComponent(Self.summaryFile), options: .atomic)
        if fm.fileExists(atPath: output.path) { try fm.removeItem(at: output) }
        try fm.moveItem(at: staging, to: output)
    }
}
