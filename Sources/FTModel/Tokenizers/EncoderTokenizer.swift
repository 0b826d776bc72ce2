import Foundation

/// What an encoder's tasks need of a tokenizer, whatever its model (WordPiece, byte-level BPE,
/// Unigram): the special-token ids, model inputs for a text or pair (`encode`), the pieces of a
/// text with their character offsets (`encodeWithOffsets`, Hugging Face's `offset_mapping`), the
/// words of a text (`wordSpans`) and a pre-split sentence encoded word by word with word ids
/// (`encodeWords`, `is_split_into_words=True`), and the post-processor's layout of one or two
/// piece sequences (`withSpecialTokens`). Pair windows for question answering
/// (`encodePairWindows`) and padding (`padBatch`) are built on these for every tokenizer.
/// `BertTokenizer` (WordPiece), `RobertaTokenizer` (byte-level BPE) and `UnigramTokenizer`
/// (SentencePiece) conform;
/// `EncoderTokenizers.load` picks the one a model directory holds.
///
/// Offsets are Unicode-scalar indices into the text they came from (Python's `str` indices), as
/// the fast tokenizers' `return_offsets_mapping=True` gives them.
public protocol EncoderTokenizer: Sendable {
    /// The id padding positions carry.
    var padTokenId: Int32 { get }
    /// The id every encoding starts with (`[CLS]`, `<s>`): the classification head reads it.
    var clsTokenId: Int32 { get }
    /// The id after each sequence (`[SEP]`, `</s>`).
    var sepTokenId: Int32 { get }
    /// The mask token's id (`[MASK]`, `<mask>`), when the vocabulary has one.
    var maskTokenId: Int32? { get }
    /// The id of text the vocabulary cannot spell (`[UNK]`, `<unk>`), when the model has one
    /// (byte-level BPE spells every text and may have none).
    var unknownTokenId: Int32? { get }
    /// Number of vocabulary entries (rows of the embedding matrix it needs at least).
    var vocabularySize: Int { get }
    /// Token strings indexed by id (as the tokenizer writes them: `##ing`, `Ġthe`, `▁the`).
    var vocabulary: [String] { get }

    /// The ids of `text` (and `pair`) with the model's special tokens, truncated so that at most
    /// `maxLength` tokens remain (`longest_first`, as the fast tokenizer truncates), unpadded.
    func encode(_ text: String, pair: String?, maxLength: Int?) -> TokenizerEncoding
    /// The piece ids of `text` without special tokens (`add_special_tokens=False`).
    func encodeIds(_ text: String) -> [Int32]
    /// The pieces of `text` without special tokens, each with the characters `start ..< end` of
    /// `text` it covers, exactly as the fast tokenizer's `offset_mapping` (after its post-processor's
    /// offset trimming, if any). `ids` equals `encodeIds(text)`.
    func encodeWithOffsets(_ text: String) -> OffsetEncoding
    /// The words of a raw text where the tokenizer's pre-tokenizer cuts it, each with its
    /// characters `start ..< end` and its text (without the spaces around it), such that
    /// `encodeWords(wordSpans(of: t).map(\.text))` tokenizes `t` word by word as training data given
    /// as words is tokenized (predict's entity spans and serve's token classifier use it).
    func wordSpans(of text: String) -> [WordSpan]
    /// A pre-split sentence as the fast tokenizer encodes it with `is_split_into_words=True`
    /// (for byte-level BPE with `add_prefix_space=True`, as run_ner loads RoBERTa: every word gets
    /// a prefix space): the special tokens of a single sequence around the words' pieces, and per
    /// token the index of its word (nil for a special token), as `word_ids()`. With `maxLength`,
    /// the last pieces are dropped so that at most `maxLength` tokens remain.
    func encodeWords(_ words: [String], maxLength: Int?) -> WordEncoding
    /// How many special tokens the post-processor adds to one sequence (`pair` false) or a pair
    /// (`num_special_tokens_to_add`): BERT 2 / 3, RoBERTa 2 / 4.
    func specialTokenCount(pair: Bool) -> Int
    /// The post-processor's encoding of piece ids `first` (and `second`): special tokens added,
    /// token types set, attention mask all ones; `sequenceIds[k]` is 0 or 1 for a token of
    /// `first` or `second` and nil for a special token (the fast tokenizer's `sequence_ids()`).
    /// The pieces of each sequence appear in order and unchanged.
    func withSpecialTokens(_ first: [Int32], pair second: [Int32]?) -> (encoding: TokenizerEncoding, sequenceIds: [Int?])
}

extension BertTokenizer: EncoderTokenizer {}
extension RobertaTokenizer: EncoderTokenizer {}

/// Picks a model directory's tokenizer.
public enum EncoderTokenizers {
    /// The tokenizer of a Hugging Face model directory: `tokenizer.json` decides when present, as
    /// for Hugging Face's fast tokenizers — a `BPE` model is RoBERTa's byte-level BPE, a
    /// `WordPiece` model is read from `vocab.txt` (with `tokenizer_config.json`'s settings) as
    /// before —, a `Unigram` model is SentencePiece's (XLM-RoBERTa's, ``UnigramTokenizer``);
    /// without it, `vocab.txt`, or XLM-RoBERTa's `sentencepiece.bpe.model` when that is all there is.
    /// This is the one place that chooses a tokenizer: every encoder task, `predict`, `serve`,
    /// `embed`, `quantize`, `prune`, `federated` and `select` load theirs here.
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
