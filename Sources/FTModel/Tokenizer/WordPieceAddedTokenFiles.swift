import Foundation

/// The added tokens of a Hugging Face model directory, read and written where transformers keeps
/// them:
/// - `tokenizer.json` `added_tokens`: `[{"id", "content", "special", "normalized", "lstrip",
///   "rstrip", "single_word"}]` — what the fast tokenizer (transformers 5's only kind) loads;
/// - `tokenizer_config.json` `added_tokens_decoder`: `{"<id>": {"content", ...}}` — what
///   transformers 4.34+ writes and reads when there is no `tokenizer.json`;
/// - `added_tokens.json`: `{"<content>": id}` for the ids after the vocabulary — the older file.
///
/// Reading takes the first of these that exists, in that order. BERT's own special tokens
/// (`[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` with their vocabulary ids) are recognized by the
/// tokenizer anyway and are not returned.
public enum WordPieceAddedTokenFiles {
    /// BERT's special tokens, written as special added tokens with their vocabulary ids.
    static let bertSpecials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// The added tokens of `modelDirectory` over `vocabulary` (vocab.txt's tokens), with the file
    /// they came from (nil when there are none).
    /// - Throws: `TokenizerError.invalidTokenizerConfig` naming the file for a malformed entry;
    ///   `WordPieceAddedTokenError.unsupported` for `lstrip`/`rstrip`/`single_word` tokens.
    public static func read(modelDirectory: URL, vocabulary: [String]) throws -> (tokens: [WordPieceAddedToken], source: String?) {
        let fm = FileManager.default
        var entries: [(id: Int, object: [String: Any])] = []
        var source: URL? = nil
        let tokenizerJSON = modelDirectory.appendingPathComponent("tokenizer.json")
        let configJSON = modelDirectory.appendingPathComponent("tokenizer_config.json")
        let addedJSON = modelDirectory.appendingPathComponent("added_tokens.json")
        if fm.fileExists(atPath: tokenizerJSON.path) {
            let object = try jsonObject(tokenizerJSON)
            guard let list = (object["added_tokens"] ?? []) as? [[String: Any]] else {
                throw TokenizerError.invalidTokenizerConfig(tokenizerJSON, reason: "\"added_tokens\" must be a list of objects")
            }
            for entry in list {
                guard let id = entry["id"] as? Int else {
                    throw TokenizerError.invalidTokenizerConfig(tokenizerJSON, reason: "an added token has no integer \"id\": \(entry)")
                }
                entries.append((id, entry))
            }
            source = tokenizerJSON
        } else if fm.fileExists(atPath: configJSON.path), let decoder = try jsonObject(configJSON)["added_tokens_decoder"] {
            guard let map = decoder as? [String: [String: Any]] else {
                throw TokenizerError.invalidTokenizerConfig(configJSON, reason: "\"added_tokens_decoder\" must map ids to token objects")
            }
            for (key, entry) in map {
                guard let id = Int(key) else {
                    throw TokenizerError.invalidTokenizerConfig(configJSON, reason: "added_tokens_decoder key \"\(key)\" is not an id")
                }
                entries.append((id, entry))
            }
            source = configJSON
        } else if fm.fileExists(atPath: addedJSON.path) {
            guard let map = try jsonObject(addedJSON) as? [String: Int] else {
                throw TokenizerError.invalidTokenizerConfig(addedJSON, reason: "must map each token to its integer id")
            }
            entries = map.map { ($0.value, ["content": $0.key, "special": false, "normalized": true]) }
            source = addedJSON
        }
        entries.sort { $0.id < $1.id }
        var tokens: [WordPieceAddedToken] = []
        for (id, entry) in entries {
            guard let content = entry["content"] as? String else {
                throw TokenizerError.invalidTokenizerConfig(source!, reason: "added token \(id) has no \"content\" string")
            }
            let special = entry["special"] as? Bool ?? false
            if special && bertSpecials.contains(content) && id < vocabulary.count && vocabulary[id] == content { continue }
            for flag in ["lstrip", "rstrip", "single_word"] where entry[flag] as? Bool == true {
                throw WordPieceAddedTokenError.unsupported("\"\(content)\" has \(flag): true, which fttrain does not support", source: source!.path)
            }
            tokens.append(
                WordPieceAddedToken(content: content, id: Int32(id), special: special, normalized: entry["normalized"] as? Bool ?? !special))
        }
        return (tokens, source?.path)
    }

    /// Writes `tokenizer`'s files into `directory` so that transformers (and fttrain) load it with
    /// the same added tokens and ids: `vocab.txt` (the WordPiece vocabulary),
    /// `tokenizer_config.json` (the base's settings, or BERT's, plus `added_tokens_decoder`),
    /// `added_tokens.json`, `special_tokens_map.json` (copied from `base` when present) and, when
    /// `base` has a `tokenizer.json`, that file with `added_tokens` replaced (and `model.vocab`,
    /// when the WordPiece vocabulary grew).
    public static func write(tokenizer: BertTokenizer, base: URL, to directory: URL) throws {
        let fm = FileManager.default
        var vocab = tokenizer.vocabulary.prefix(tokenizer.wordPieceVocabularySize).joined(separator: "\n")
        vocab += "\n"
        try Data(vocab.utf8).write(to: directory.appendingPathComponent("vocab.txt"), options: .atomic)
        let special = base.appendingPathComponent("special_tokens_map.json")
        let specialOut = directory.appendingPathComponent("special_tokens_map.json")
        if fm.fileExists(atPath: special.path) && !fm.fileExists(atPath: specialOut.path) { try fm.copyItem(at: special, to: specialOut) }

        var entries: [(id: Int32, object: [String: Any])] = []
        for token in bertSpecials {
            let id = tokenizer.convertTokensToIds([token])[0]
            if token == "[UNK]" || id != tokenizer.unkTokenId { entries.append((id, entry(token, special: true, normalized: false))) }
        }
        for token in tokenizer.addedTokens {
            entries.append((token.id, entry(token.content, special: token.special, normalized: token.normalized)))
        }
        entries.sort { $0.id < $1.id }

        let configURL = base.appendingPathComponent("tokenizer_config.json")
        var config: [String: Any] =
            fm.fileExists(atPath: configURL.path)
            ? try jsonObject(configURL)
            : [
                "do_lower_case": tokenizer.doLowerCase, "tokenize_chinese_chars": tokenizer.tokenizeChineseChars,
                "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                "cls_token": "[CLS]", "mask_token": "[MASK]",
            ]
        config["added_tokens_decoder"] = Dictionary(uniqueKeysWithValues: entries.map { (String($0.id), $0.object) })
        try writeJSON(config, to: directory.appendingPathComponent("tokenizer_config.json"))

        let newIds = tokenizer.addedTokens.filter { Int($0.id) >= tokenizer.wordPieceVocabularySize }
        try writeJSON(
            Dictionary(uniqueKeysWithValues: newIds.map { ($0.content, Int($0.id)) }), to: directory.appendingPathComponent("added_tokens.json"))

        let fast = base.appendingPathComponent("tokenizer.json")
        if fm.fileExists(atPath: fast.path) {
            var object = try jsonObject(fast)
            object["added_tokens"] = entries.map { e -> [String: Any] in
                var o = e.object
                o["id"] = Int(e.id)
                return o
            }
            // Entries appended to the vocabulary (`fttrain extend-vocab`) go into the WordPiece model too.
            if var model = object["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any],
                vocab.count != tokenizer.wordPieceVocabularySize
            {
                let entries = tokenizer.vocabulary.prefix(tokenizer.wordPieceVocabularySize).enumerated().map { ($1, $0) }
                model["vocab"] = Dictionary(entries, uniquingKeysWith: { _, last in last })
                object["model"] = model
            }
            try writeJSON(object, to: directory.appendingPathComponent("tokenizer.json"))
        }
    }

    private static func entry(_ content: String, special: Bool, normalized: Bool) -> [String: Any] {
        ["content": content, "special": special, "normalized": normalized, "lstrip": false, "rstrip": false, "single_word": false]
    }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TokenizerError.unreadableFile(url, reason: "cannot read the file")
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError.invalidTokenizerConfig(url, reason: "not a JSON object")
            }
            return object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.invalidTokenizerConfig(url, reason: "not valid JSON (\(error.localizedDescription))")
        }
    }

    static func writeJSON(_ object: Any, to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: url, options: .atomic)
    }
}
