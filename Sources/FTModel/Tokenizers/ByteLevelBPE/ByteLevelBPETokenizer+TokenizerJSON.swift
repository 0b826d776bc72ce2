import Foundation

/// Loading from and writing to Hugging Face's `tokenizer.json` + `tokenizer_config.json`.
extension ByteLevelBPETokenizer {
    /// Loads a tokenizer saved by Hugging Face (`tokenizers` / transformers' `save_pretrained`).
    ///
    /// `tokenizer.json`: `model` (`BPE`: `vocab`, `merges` as `"a b"` strings or `["a", "b"]` pairs),
    /// `added_tokens`, `normalizer` (must be null), `pre_tokenizer` (see ``BPEPreTokenizer``),
    /// `post_processor` (null, `ByteLevel`, or `TemplateProcessing` that puts at most a BOS before the
    /// text: that decides ``addsBOS``, as it decides for HF), `decoder` (`ByteLevel`).
    /// `tokenizer_config.json`: `bos_token`, `eos_token` (required), `pad_token` (default: EOS),
    /// `unk_token`, `chat_template` (else a `chat_template.jinja` beside it).
    /// - Throws: ``BPETokenizerError`` naming the file and the key that is missing or unsupported.
    public static func load(tokenizerJSON: URL, tokenizerConfig: URL) throws -> ByteLevelBPETokenizer {
        let root = try readJSONObject(tokenizerJSON)
        let config = try readJSONObject(tokenizerConfig)
        let file = tokenizerJSON.path
        let cfg = tokenizerConfig.path
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }

        guard let model = root["model"] as? [String: Any] else { throw fail("no \"model\" object") }
        guard (model["type"] as? String) == "BPE" else {
            throw fail("model.type is \(String(describing: model["type"] ?? "missing")), expected \"BPE\"")
        }
        if let v = model["byte_fallback"] as? Bool, v {
            throw BPETokenizerError.unsupportedSetting(source: file, setting: "model.byte_fallback=true")
        }
        if let v = model["ignore_merges"] as? Bool, v {
            throw BPETokenizerError.unsupportedSetting(source: file, setting: "model.ignore_merges=true")
        }
        if let v = model["dropout"], !(v is NSNull) { throw BPETokenizerError.unsupportedSetting(source: file, setting: "model.dropout") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key] as? String, !v.isEmpty {
                throw BPETokenizerError.unsupportedSetting(source: file, setting: "model.\(key)=\"\(v)\"")
            }
        }
        guard let vocabObject = model["vocab"] as? [String: Any] else { throw fail("no model.vocab object") }
        var pairs: [(String, Int)] = []
        pairs.reserveCapacity(vocabObject.count)
        for (token, value) in vocabObject {
            guard let id = (value as? NSNumber)?.intValue, id >= 0 else { throw fail("model.vocab[\"\(token)\"] is not a token id") }
            pairs.append((token, id))
        }
        var vocabulary = [String](repeating: "", count: (pairs.map(\.1).max() ?? -1) + 1)
        for (token, id) in pairs { vocabulary[id] = token }

        let merges = try TokenizerJSONFile.merges(of: model, file: file)

        var added: [BPEAddedToken] = []
        for (i, item) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let t = item as? [String: Any], let id = (t["id"] as? NSNumber)?.intValue, let content = t["content"] as? String else {
                throw fail("added_tokens[\(i)] lacks id or content")
            }
            if (t["single_word"] as? Bool) == true {
                throw BPETokenizerError.unsupportedSetting(source: file, setting: "added_tokens[\(i)] \"\(content)\" single_word=true")
            }
            added.append(
                BPEAddedToken(
                    id: Int32(id), content: content, special: (t["special"] as? Bool) ?? false,
                    lstrip: (t["lstrip"] as? Bool) ?? false, rstrip: (t["rstrip"] as? Bool) ?? false))
        }

        if let n = root["normalizer"], !(n is NSNull) {
            throw BPETokenizerError.unsupportedSetting(source: file, setting: "normalizer \(typeName(n))")
        }
        let preTokenizer = try parsePreTokenizer(root["pre_tokenizer"], file: file)
        if let d = root["decoder"], !(d is NSNull), typeName(d) != "ByteLevel" {
            throw BPETokenizerError.unsupportedSetting(source: file, setting: "decoder \(typeName(d))")
        }

        // Special tokens of the config: a string, {"content": ...}, or null.
        func tokenId(_ key: String) throws -> Int32? {
            let value = config[key]
            let content: String?
            if let s = value as? String {
                content = s
            } else if let d = value as? [String: Any] {
                content = d["content"] as? String
            } else {
                content = nil
            }
            guard let content else { return nil }
            if let t = added.first(where: { $0.content == content }) { return t.id }
            if let i = vocabulary.firstIndex(of: content) { return Int32(i) }
            throw BPETokenizerError.unknownToken(source: cfg, key: key, token: content)
        }
        let bos = try tokenId("bos_token")
        guard let eos = try tokenId("eos_token") else {
            throw BPETokenizerError.invalidFile(path: cfg, reason: "no \"eos_token\"")
        }
        let pad = try tokenId("pad_token") ?? eos
        let unk = try tokenId("unk_token")
        let addsBOS = try postProcessorAddsBOS(root["post_processor"], bos: bos, vocabulary: vocabulary, added: added, file: file)

        var template = config["chat_template"] as? String
        if template == nil, let list = config["chat_template"] as? [[String: Any]] {
            template = list.first { ($0["name"] as? String) == "default" }?["template"] as? String
        }
        if template == nil {
            let jinja = tokenizerConfig.deletingLastPathComponent().appendingPathComponent("chat_template.jinja")
            if let data = FileManager.default.contents(atPath: jinja.path) {
                guard let text = String(data: data, encoding: .utf8) else {
                    throw BPETokenizerError.invalidFile(path: jinja.path, reason: "not UTF-8")
                }
                template = text
            }
        }
        return try ByteLevelBPETokenizer(
            vocabulary: vocabulary, merges: merges, addedTokens: added, preTokenizer: preTokenizer, bosTokenId: bos,
            eosTokenId: eos, padTokenId: pad, unkTokenId: unk, addsBOS: addsBOS, chatTemplate: template, source: file)
    }

    /// Loads `tokenizer.json` and `tokenizer_config.json` of a Hugging Face model directory.
    public static func load(directory: URL) throws -> ByteLevelBPETokenizer {
        try load(
            tokenizerJSON: directory.appendingPathComponent("tokenizer.json"),
            tokenizerConfig: directory.appendingPathComponent("tokenizer_config.json"))
    }

    // MARK: - Writing

    /// A `tokenizer.json` that `tokenizers` / transformers' `AutoTokenizer` load to the same ids.
    public func tokenizerJSONData() throws -> Data {
        var vocab: [String: Int] = [:]
        for (i, token) in vocabulary.enumerated() where !token.isEmpty && vocab[token] == nil { vocab[token] = i }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let pre: [String: Any]
        switch preTokenizer {
        case .byteLevel:
            pre = byteLevel
        case .digitsThenByteLevel:
            pre = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
        }
        var single: [[String: Any]] = [["Sequence": ["id": "A", "type_id": 0]]]
        var pair: [[String: Any]] = [["Sequence": ["id": "A", "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]]]
        var specials: [String: Any] = [:]
        if addsBOS, let bos = bosTokenId {
            let name = vocabulary[Int(bos)]
            single.insert(["SpecialToken": ["id": name, "type_id": 0]], at: 0)
            pair.insert(["SpecialToken": ["id": name, "type_id": 0]], at: 0)
            pair.insert(["SpecialToken": ["id": name, "type_id": 1]], at: 2)
            specials[name] = ["id": name, "ids": [Int(bos)], "tokens": [name]]
        }
        let root: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": addedTokens.map {
                [
                    "id": Int($0.id), "content": $0.content, "single_word": false, "lstrip": $0.lstrip, "rstrip": $0.rstrip,
                    "normalized": false, "special": $0.special,
                ] as [String: Any]
            },
            "normalizer": NSNull(),
            "pre_tokenizer": pre,
            "post_processor": ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges.map { [$0.0, $0.1] },
            ] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// A `tokenizer_config.json` naming the special tokens, `add_bos_token` and the chat template.
    public func tokenizerConfigJSONData() throws -> Data {
        func name(_ id: Int32?) -> Any { id.map { vocabulary[Int($0)] } ?? NSNull() }
        var config: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": name(bosTokenId), "eos_token": name(eosTokenId), "pad_token": name(padTokenId),
            "unk_token": name(unkTokenId), "add_bos_token": addsBOS, "add_eos_token": false,
            "clean_up_tokenization_spaces": false, "model_max_length": 1_000_000_000,
        ]
        if let chatTemplate { config["chat_template"] = chatTemplate }
        return try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` into `directory` (created if needed).
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try tokenizerJSONData().write(to: directory.appendingPathComponent("tokenizer.json"), options: .atomic)
        try tokenizerConfigJSONData().write(to: directory.appendingPathComponent("tokenizer_config.json"), options: .atomic)
    }
}

// MARK: - Parsing helpers

private func readJSONObject(_ url: URL) throws -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw BPETokenizerError.invalidFile(path: url.path, reason: "missing or unreadable")
    }
    let object: Any
    do {
        object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    } catch {
        throw BPETokenizerError.invalidFile(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
    }
    guard let dict = object as? [String: Any] else { throw BPETokenizerError.invalidFile(path: url.path, reason: "not a JSON object") }
    return dict
}

private func typeName(_ value: Any?) -> String {
    ((value as? [String: Any])?["type"] as? String) ?? String(describing: value ?? "null")
}

/// The supported pre-tokenizers: `ByteLevel` (regex on, no prefix space), or a `Sequence` of
/// `Digits(individual_digits=true)` then that `ByteLevel`.
private func parsePreTokenizer(_ value: Any?, file: String) throws -> BPEPreTokenizer {
    func isByteLevel(_ v: Any) throws -> Bool {
        guard let d = v as? [String: Any], d["type"] as? String == "ByteLevel" else { return false }
        if (d["add_prefix_space"] as? Bool) == true {
            throw BPETokenizerError.unsupportedSetting(source: file, setting: "pre_tokenizer ByteLevel add_prefix_space=true")
        }
        if (d["use_regex"] as? Bool) == false {
            throw BPETokenizerError.unsupportedSetting(source: file, setting: "pre_tokenizer ByteLevel use_regex=false")
        }
        return true
    }
    guard let value, !(value is NSNull) else { throw BPETokenizerError.unsupportedPreTokenizer(source: file, name: "null") }
    if try isByteLevel(value) { return .byteLevel }
    if let d = value as? [String: Any], d["type"] as? String == "Sequence", let list = d["pretokenizers"] as? [Any] {
        if list.count == 2, let digits = list[0] as? [String: Any], digits["type"] as? String == "Digits",
            digits["individual_digits"] as? Bool == true, try isByteLevel(list[1])
        {
            return .digitsThenByteLevel
        }
        if list.count == 1, try isByteLevel(list[0]) { return .byteLevel }
        throw BPETokenizerError.unsupportedPreTokenizer(source: file, name: "Sequence[" + list.map { typeName($0) }.joined(separator: ", ") + "]")
    }
    throw BPETokenizerError.unsupportedPreTokenizer(source: file, name: typeName(value))
}

/// Whether the post-processor puts the BOS before the text; refuses one that adds anything else.
private func postProcessorAddsBOS(
    _ value: Any?, bos: Int32?, vocabulary: [String], added: [BPEAddedToken], file: String
) throws -> Bool {
    guard let value, !(value is NSNull) else { return false }
    guard let d = value as? [String: Any], let type = d["type"] as? String else { return false }
    switch type {
    case "ByteLevel",
        "Sequence" where (d["processors"] as? [Any])?.isEmpty ?? true:
        return false
    case "Sequence":
        var adds = false
        for p in (d["processors"] as? [Any]) ?? [] {
            adds = try postProcessorAddsBOS(p, bos: bos, vocabulary: vocabulary, added: added, file: file) || adds
        }
        return adds
    case "TemplateProcessing":
        let single = (d["single"] as? [[String: Any]]) ?? []
        var names: [String] = []
        var sawText = false
        for piece in single {
            if piece["Sequence"] != nil {
                sawText = true
            } else if let s = piece["SpecialToken"] as? [String: Any], let name = s["id"] as? String {
                if sawText { throw BPETokenizerError.unsupportedSetting(source: file, setting: "post_processor adds \"\(name)\" after the text") }
                names.append(name)
            }
        }
        if names.isEmpty { return false }
        let bosName = bos.map { vocabulary[Int($0)] }
        guard names.count == 1, names[0] == bosName else {
            throw BPETokenizerError.unsupportedSetting(
                source: file, setting: "post_processor adds \(names) before the text (only the bos_token is supported)")
        }
        return true
    default:
        throw BPETokenizerError.unsupportedSetting(source: file, setting: "post_processor \(type)")
    }
}
