import Foundation

/// Loading from Hugging Face's `tokenizer.json` (+ `tokenizer_config.json`), as
/// `RobertaTokenizerFast.from_pretrained` reads them.
extension RobertaTokenizer {
    /// Loads `tokenizer.json`: `model` `BPE` (`vocab`, `merges` as `"a b"` or `["a", "b"]`, no
    /// dropout, byte fallback or subword affixes), `added_tokens`, `normalizer` null, `pre_tokenizer`
    /// `ByteLevel` (GPT-2's regex; its `add_prefix_space`), `post_processor` `RobertaProcessing`
    /// (`cls`, `sep`, `trim_offsets`). `tokenizer_config.json`, when present, overrides
    /// `add_prefix_space` and `trim_offsets` as transformers does and names `pad_token`
    /// (default `<pad>`) and `unk_token`.
    /// - Throws: ``BPETokenizerError`` naming the file and the key that is missing or unsupported.
    public static func load(tokenizerJSON: URL, tokenizerConfig: URL?) throws -> RobertaTokenizer {
        let file = tokenizerJSON.path
        let root = try TokenizerJSONFile.readObject(tokenizerJSON)
        let config =
            try tokenizerConfig.flatMap { FileManager.default.fileExists(atPath: $0.path) ? try TokenizerJSONFile.readObject($0) : nil } ?? [:]
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }
        func unsupported(_ setting: String) -> BPETokenizerError { .unsupportedSetting(source: file, setting: setting) }

        guard let model = root["model"] as? [String: Any] else { throw fail("no \"model\" object") }
        let type = (model["type"] as? String) ?? "missing"
        guard type == "BPE" else { throw TokenizerJSONFile.unsupportedModel(type, file: file) }
        if (model["byte_fallback"] as? Bool) == true { throw unsupported("model.byte_fallback=true") }
        if (model["ignore_merges"] as? Bool) == true { throw unsupported("model.ignore_merges=true") }
        if let v = model["dropout"], !(v is NSNull) { throw unsupported("model.dropout") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key] as? String, !v.isEmpty { throw unsupported("model.\(key)=\"\(v)\"") }
        }
        guard let vocabObject = model["vocab"] as? [String: Any] else { throw fail("no model.vocab object") }
        var vocabulary = [String](repeating: "", count: vocabObject.count)
        for (token, value) in vocabObject {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < 1 << 24 else { throw fail("model.vocab[\"\(token)\"] is not a token id") }
            if id >= vocabulary.count { vocabulary += [String](repeating: "", count: id + 1 - vocabulary.count) }
            vocabulary[id] = token
        }
        let merges = try TokenizerJSONFile.merges(of: model, file: file)
        var added: [BPEAddedToken] = []
        for (i, item) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let t = item as? [String: Any], let id = (t["id"] as? NSNumber)?.intValue, let content = t["content"] as? String else {
                throw fail("added_tokens[\(i)] lacks id or content")
            }
            if (t["single_word"] as? Bool) == true { throw unsupported("added_tokens[\(i)] \"\(content)\" single_word=true") }
            added.append(
                BPEAddedToken(
                    id: Int32(id), content: content, special: (t["special"] as? Bool) ?? false,
                    lstrip: (t["lstrip"] as? Bool) ?? false, rstrip: (t["rstrip"] as? Bool) ?? false))
        }
        if let n = root["normalizer"], !(n is NSNull) { throw unsupported("normalizer \(TokenizerJSONFile.typeName(n))") }

        // Pre-tokenizer: ByteLevel with GPT-2's regex.
        guard let pre = root["pre_tokenizer"] as? [String: Any], pre["type"] as? String == "ByteLevel" else {
            throw BPETokenizerError.unsupportedPreTokenizer(source: file, name: TokenizerJSONFile.typeName(root["pre_tokenizer"]))
        }
        if (pre["use_regex"] as? Bool) == false { throw unsupported("pre_tokenizer ByteLevel use_regex=false") }
        var addPrefixSpace = (pre["add_prefix_space"] as? Bool) ?? true

        // Post-processor: RobertaProcessing.
        guard let post = root["post_processor"] as? [String: Any], post["type"] as? String == "RobertaProcessing" else {
            throw unsupported("post_processor \(TokenizerJSONFile.typeName(root["post_processor"])) (RoBERTa's is RobertaProcessing)")
        }
        func special(_ key: String) throws -> Int32 {
            guard let pair = post[key] as? [Any], pair.count == 2, let id = (pair[1] as? NSNumber)?.intValue else {
                throw fail("post_processor.\(key) is not [token, id]")
            }
            return Int32(id)
        }
        let cls = try special("cls"), sep = try special("sep")
        var trimOffsets = (post["trim_offsets"] as? Bool) ?? true
        addPrefixSpace = (post["add_prefix_space"] as? Bool) ?? addPrefixSpace

        // tokenizer_config.json: transformers rewrites the components with its settings.
        if let v = config["add_prefix_space"] as? Bool { addPrefixSpace = v }
        if let v = config["trim_offsets"] as? Bool { trimOffsets = v }
        func tokenId(_ key: String, default name: String?) throws -> Int32? {
            let value = config[key]
            let content = (value as? String) ?? ((value as? [String: Any])?["content"] as? String) ?? name
            guard let content else { return nil }
            if let t = added.first(where: { $0.content == content }) { return t.id }
            if let i = vocabulary.firstIndex(of: content) { return Int32(i) }
            throw BPETokenizerError.unknownToken(source: tokenizerConfig?.path ?? file, key: key, token: content)
        }
        let pad = try tokenId("pad_token", default: "<pad>")!
        let unk = try tokenId("unk_token", default: model["unk_token"] as? String)
        return try RobertaTokenizer(
            vocabulary: vocabulary, merges: merges, addedTokens: added, clsTokenId: cls, sepTokenId: sep, padTokenId: pad,
            unkTokenId: unk, addPrefixSpace: addPrefixSpace, trimOffsets: trimOffsets, source: file)
    }

    /// Loads `tokenizer.json` and `tokenizer_config.json` of a model directory.
    public static func load(directory: URL) throws -> RobertaTokenizer {
        try load(
            tokenizerJSON: directory.appendingPathComponent("tokenizer.json"),
            tokenizerConfig: directory.appendingPathComponent("tokenizer_config.json"))
    }
}

/// Reading `tokenizer.json`-style files, with errors naming the file.
enum TokenizerJSONFile {
    static func readObject(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw BPETokenizerError.invalidFile(path: url.path, reason: "missing or unreadable")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw BPETokenizerError.invalidFile(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else { throw BPETokenizerError.invalidFile(path: url.path, reason: "not a JSON object") }
        return dict
    }

    /// `model.merges` of a BPE `tokenizer.json`: each merge as `"a b"` or `["a", "b"]`, in rank order.
    /// - Throws: `BPETokenizerError.invalidFile` naming `file` and the bad entry.
    static func merges(of model: [String: Any], file: String) throws -> [(String, String)] {
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }
        guard let mergesArray = model["merges"] as? [Any] else { throw fail("no model.merges array") }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergesArray.count)
        for (i, m) in mergesArray.enumerated() {
            if let s = m as? String {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw fail("model.merges[\(i)] \"\(s)\" is not two tokens separated by a space") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let a = m as? [Any], a.count == 2, let l = a[0] as? String, let r = a[1] as? String {
                merges.append((l, r))
            } else {
                throw fail("model.merges[\(i)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        return merges
    }

    /// A component's `type`, or a description of the value.
    static func typeName(_ value: Any?) -> String {
        ((value as? [String: Any])?["type"] as? String) ?? (value.map { String(describing: $0) } ?? "null")
    }

    /// The error for a `model.type` no tokenizer here reads.
    static func unsupportedModel(_ type: String, file: String) -> BPETokenizerError {
        .unsupportedSetting(
            source: file,
            setting: "tokenizer model type \"\(type)\" (supported: WordPiece through vocab.txt, byte-level BPE with RobertaProcessing, Unigram)")
    }
}
