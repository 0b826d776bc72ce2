import Foundation

/// What an encoder's tasks need of a tokenizer: model inputs for a text (or pair), truncated to a
/// length, and the padding id. `BertTokenizer` (WordPiece), `RobertaTokenizer` (byte-level BPE) and
/// `UnigramTokenizer` (SentencePiece) are the kinds; `EncoderTokenizers.load` picks the one a model directory holds.
public protocol EncoderTokenizer: Sendable {
    /// The id padding positions carry.
    var padTokenId: Int32 { get }
    /// Number of vocabulary entries (rows of the embedding matrix it needs at least).
    var vocabularySize: Int { get }
    /// The ids of `text` (and `pair`) with the model's special tokens, truncated so that at most
    /// `maxLength` tokens remain (`longest_first`), unpadded.
    func encode(_ text: String, pair: String?, maxLength: Int?) -> TokenizerEncoding
}

extension BertTokenizer: EncoderTokenizer {}

/// Picks a model directory's tokenizer.
public enum EncoderTokenizers {
    /// The tokenizer of a Hugging Face model directory: `tokenizer.json` decides when present, as
    /// for Hugging Face's fast tokenizers — a `BPE` model is RoBERTa's byte-level BPE, a
    /// `WordPiece` model is read from `vocab.txt` (with `tokenizer_config.json`'s settings) as
    /// before —, a `Unigram` model is SentencePiece's (XLM-RoBERTa's, ``UnigramTokenizer``);
    /// without it, `vocab.txt`, or XLM-RoBERTa's `sentencepiece.bpe.model` when that is all there is.
    /// - Throws: `BPETokenizerError` naming `tokenizer.json` and its model type when no tokenizer
    ///   here reads it (`WordLevel`), or a bad key or unsupported component; `TokenizerError`
    ///   for a bad `vocab.txt`.
    public static func load(modelDirectory: URL) throws -> any EncoderTokenizer {
        let json = modelDirectory.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: json.path) else {
            let spm = modelDirectory.appendingPathComponent("sentencepiece.bpe.model")
            if FileManager.default.fileExists(atPath: spm.path)
                && !FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("vocab.txt").path)
            {
                return try UnigramTokenizer.load(xlmRobertaSentencePieceModel: spm)
            }
            return try BertTokenizer.load(modelDirectory: modelDirectory)
        }
        let root = try TokenizerJSONFile.readObject(json)
        let type = ((root["model"] as? [String: Any])?["type"] as? String) ?? "missing"
        switch type {
        case "WordPiece": return try BertTokenizer.load(modelDirectory: modelDirectory)
        case "BPE": return try RobertaTokenizer.load(directory: modelDirectory)
        case "Unigram": return try UnigramTokenizer.load(directory: modelDirectory)
        default: throw TokenizerJSONFile.unsupportedModel(type, file: json.path)
        }
    }

    /// The file that lists the vocabulary of `modelDirectory`'s tokenizer, for messages.
    public static func vocabularyFile(modelDirectory: URL) -> URL {
        let json = modelDirectory.appendingPathComponent("tokenizer.json")
        return FileManager.default.fileExists(atPath: json.path) ? json : modelDirectory.appendingPathComponent("vocab.txt")
    }
}
