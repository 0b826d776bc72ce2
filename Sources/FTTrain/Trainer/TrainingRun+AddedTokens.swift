import FTCore
import FTModel
import Foundation

extension TrainingRun {
    /// The tokenizer and vocabulary of an encoder run with `add_tokens`.
    struct ExtendedVocabulary {
        /// The base tokenizer with the tokens added.
        let tokenizer: BertTokenizer
        /// Rows of the resized word-embedding matrix (`len(tokenizer)`); nil: no resize.
        let vocabularySize: Int?
        /// Where exports and checkpoints take `config.json` and the tokenizer files from:
        /// `output_dir/base_model` (the extended tokenizer files, `vocab_size` updated), or the
        /// model directory when nothing was added.
        let baseModelDirectory: URL
    }

    /// The error of an `add_tokens` setting that cannot apply, with `message` saying why.
    static func addTokensError(_ message: String) -> ConfigurationError {
        ConfigurationError(source: nil, problems: [ConfigurationProblem(kind: .invalidValue, key: "add_tokens", message: message)])
    }

    /// A task's tokenizer: `tokenizer.json` or `vocab.txt`, with `add_tokens` applied (WordPiece
    /// only); `vocabularySize` is the embedding rows the model needs (nil: the checkpoint's), and
    /// `baseModelDirectory` the directory whose tokenizer files the outputs take.
    func taskTokenizer(baseModel: URL, output: URL, log: TrainingLog) throws -> (
        tokenizer: any EncoderTokenizer, vocabularySize: Int?, baseModelDirectory: URL
    ) {
        let loaded = try EncoderTokenizers.load(modelDirectory: baseModel)
        if let wordPiece = loaded as? BertTokenizer {
            let vocabulary = try extendVocabulary(tokenizer: wordPiece, baseModel: baseModel, output: output, log: log)
            return (vocabulary.tokenizer, vocabulary.vocabularySize, vocabulary.baseModelDirectory)
        }
        guard configuration.addTokens == nil else {
            throw Self.addTokensError(
                "`add_tokens` extends WordPiece (BERT-family) vocabularies; \(baseModel.path)'s tokenizer.json is not WordPiece")
        }
        return (loaded, nil, baseModel)
    }

    /// `add_tokens` applied as transformers users do it — `tokenizer.add_tokens(tokens)` then
    /// `model.resize_token_embeddings(len(tokenizer))`: the tokens are added to `tokenizer`
    /// (a token the vocabulary has keeps its id and is logged), and on the coordinator
    /// `output/base_model/` is written with the base's `config.json` (`vocab_size` the new size)
    /// and the tokenizer files with the added tokens (`WordPieceAddedTokenFiles`), so every export and
    /// checkpoint carries them.
    /// Under PEFT the word embeddings are in `modules_to_save` by default (the new rows train), and
    /// `base_model/` also gets the resized `model.safetensors`, so the adapter's
    /// `base_model_name_or_path` is a complete model PEFT loads it onto.
    /// - Throws: `ConfigurationError` (`add_tokens`) for an empty or repeated token or an unreadable file.
    func extendVocabulary(tokenizer: BertTokenizer, baseModel: URL, output: URL, log: TrainingLog) throws -> ExtendedVocabulary {
        let c = configuration
        guard let setting = c.addTokens else {
            return ExtendedVocabulary(tokenizer: tokenizer, vocabularySize: nil, baseModelDirectory: baseModel)
        }
        let invalid = Self.addTokensError
        let extended: BertTokenizer
        let known: [(token: String, id: Int32)]
        do {
            let tokens = try setting.resolve()
            guard !tokens.isEmpty else { throw invalid("`add_tokens` (\(setting.source)) lists no token") }
            (extended, known) = try tokenizer.adding(tokens, source: setting.source)
        } catch let error as WordPieceAddedTokenError {
            throw invalid(error.description)
        } catch let error as TokenizerError {
            throw invalid(error.description)
        }
        let added = extended.vocabularySize - tokenizer.vocabularySize
        log.message(
            "add_tokens: \(added) new tokens, ids \(tokenizer.vocabularySize)..<\(extended.vocabularySize); vocabulary \(extended.vocabularySize)")
        for (token, id) in known {
            log.message(
                "add_tokens: \"\(token)\" is already in the vocabulary (id \(id)): no new id, matched whole from now on, as transformers does")
        }
        if c.freezeEmbeddings { log.message("warning: freeze_embeddings with add_tokens: the new rows keep their initial value (the mean row)") }
        let directory = output.appendingPathComponent("base_model", isDirectory: true)
        if world.isCoordinator {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let configPath = baseModel.appendingPathComponent("config.json").path
            var config = try ModelRegistry.readConfigJSON(path: configPath).object
            config["vocab_size"] = extended.vocabularySize
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
                .write(to: directory.appendingPathComponent("config.json"), options: .atomic)
            try WordPieceAddedTokenFiles.write(tokenizer: extended, base: baseModel, to: directory)
            if c.peft != .none {
                try EncoderModel.writeResizedWeights(
                    modelDirectory: baseModel, vocabularySize: extended.vocabularySize,
                    to: directory.appendingPathComponent("model.safetensors"))
            }
            log.message("add_tokens: config.json and tokenizer files with the added tokens written to \(directory.path)")
        }
        return ExtendedVocabulary(tokenizer: extended, vocabularySize: extended.vocabularySize, baseModelDirectory: directory)
    }
}
