import Foundation

/// Loading from Hugging Face's `tokenizer.json` (+ `tokenizer_config.json`), as
/// `XLMRobertaTokenizerFast` / `PreTrainedTokenizerFast` read them.
extension UnigramTokenizer {
    /// Loads `tokenizer.json`: `model` `Unigram` (`vocab` of `[piece, score]`, `unk_id`,
    /// `byte_fallback`), `added_tokens` (matched on the raw text: `normalized: true` ones are
    /// refused when there is a normalizer), `normalizer` (``TextNormalizer``), `pre_tokenizer`
    /// (``SentencePiecePreTokenizer``), `post_processor` `TemplateProcessing` or
    /// `RobertaProcessing`. `tokenizer_config.json`, when present, names `pad_token` (default
    /// `<pad>`) and `mask_token` (default `<mask>`).
    /// - Throws: ``BPETokenizerError`` naming the file and the key or component that is missing or
    ///   unsupported.
    public static func load(tokenizerJSON: URL, tokenizerConfig: URL?) throws -> UnigramTokenizer {
        let file = tokenizerJSON.path
        let root = try TokenizerJSONFile.readObject(tokenizerJSON)
        let config =
            try tokenizerConfig.flatMap { FileManager.default.fileExists(atPath: $0.path) ? try TokenizerJSONFile.readObject($0) : nil } ?? [:]
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }
        func unsupported(_ setting: String) -> BPETokenizerError { .unsupportedSetting(source: file, setting: setting) }

        guard let model = root["model"] as? [String: Any] else { throw fail("no \"model\" object") }
        let type = (model["type"] as? String) ?? "missing"
        guard type == "Unigram" else { throw TokenizerJSONFile.unsupportedModel(type, file: file) }
        guard let vocab = model["vocab"] as? [Any], !vocab.isEmpty else { throw fail("no model.vocab array of [piece, score]") }
        var pieces: [String] = [], scores: [Double] = []
        pieces.reserveCapacity(vocab.count)
        scores.reserveCapacity(vocab.count)
        for (i, entry) in vocab.enumerated() {
            guard let pair = entry as? [Any], pair.count == 2, let piece = pair[0] as? String, let score = (pair[1] as? NSNumber)?.doubleValue,
                score.isFinite
            else { throw fail("model.vocab[\(i)] is not [piece, score]") }
            pieces.append(piece)
            scores.append(score)
        }
        var unkId: Int32? = nil
        if let value = model["unk_id"], !(value is NSNull) {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < pieces.count else {
                throw fail("model.unk_id is not an id of model.vocab (\(pieces.count) pieces)")
            }
            unkId = Int32(id)
        }
        let unigram = UnigramModel(pieces: pieces, scores: scores, unkId: unkId, byteFallback: (model["byte_fallback"] as? Bool) ?? false)

        let normalizer = try TextNormalizer.read(root["normalizer"], file: file)
        var added: [BPEAddedToken] = []
        for (i, item) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let t = item as? [String: Any], let id = (t["id"] as? NSNumber)?.intValue, let content = t["content"] as? String,
                id >= 0, id < 1 << 24
            else { throw fail("added_tokens[\(i)] lacks id or content") }
            let special = (t["special"] as? Bool) ?? false
            if (t["single_word"] as? Bool) == true { throw unsupported("added_tokens[\(i)] \"\(content)\" single_word=true") }
            if ((t["normalized"] as? Bool) ?? !special) && normalizer != nil {
                throw unsupported("added_tokens[\(i)] \"\(content)\" normalized=true (matched after the normalizer)")
            }
            added.append(
                BPEAddedToken(
                    id: Int32(id), content: content, special: special, lstrip: (t["lstrip"] as? Bool) ?? false,
                    rstrip: (t["rstrip"] as? Bool) ?? false))
        }
        let preTokenizer: SentencePiecePreTokenizer
        if let pre = root["pre_tokenizer"], !(pre is NSNull) {
            preTokenizer = try SentencePiecePreTokenizer.read(pre, file: file)
        } else {
            preTokenizer = .sequence([])
        }
        let template = try PostProcessorTemplate.read(root["post_processor"], file: file)
        let size = max(pieces.count, (added.map { Int($0.id) }.max() ?? -1) + 1)
        func check(_ pieces: [PostProcessorTemplate.Piece], _ name: String, sequences: Set<Int>) throws {
            var seen = Set<Int>()
            for piece in pieces {
                switch piece {
                case .special(let ids, _):
                    if let bad = ids.first(where: { $0 < 0 || Int($0) >= size }) {
                        throw fail("post_processor \(name): special token id \(bad) is out of range")
                    }
                case .sequence(let k, _):
                    guard sequences.contains(k), seen.insert(k).inserted else {
                        throw fail("post_processor \(name) template names sequence \(k == 0 ? "A" : "B") wrongly")
                    }
                }
            }
            guard seen == sequences else { throw fail("post_processor \(name) template lacks a sequence") }
        }
        try check(template.single, "single", sequences: [0])
        try check(template.pair, "pair", sequences: [0, 1])

        let padValue = config["pad_token"]
        let padName = (padValue as? String) ?? ((padValue as? [String: Any])?["content"] as? String) ?? "<pad>"
        let pad: Int32
        if let t = added.first(where: { $0.content == padName }) {
            pad = t.id
        } else if let id = unigram.ids[padName] {
            pad = id
        } else {
            throw BPETokenizerError.unknownToken(source: tokenizerConfig?.path ?? file, key: "pad_token", token: padName)
        }
        let maskValue = config["mask_token"]
        let maskName = (maskValue as? String) ?? ((maskValue as? [String: Any])?["content"] as? String) ?? "<mask>"
        let mask = added.first(where: { $0.content == maskName })?.id ?? unigram.ids[maskName]
        return UnigramTokenizer(
            model: unigram, addedTokens: added, normalizer: normalizer, preTokenizer: preTokenizer, template: template, padTokenId: pad,
            maskTokenId: mask)
    }

    /// Loads `tokenizer.json` and `tokenizer_config.json` of a model directory.
    public static func load(directory: URL) throws -> UnigramTokenizer {
        try load(
            tokenizerJSON: directory.appendingPathComponent("tokenizer.json"),
            tokenizerConfig: directory.appendingPathComponent("tokenizer_config.json"))
    }
}
