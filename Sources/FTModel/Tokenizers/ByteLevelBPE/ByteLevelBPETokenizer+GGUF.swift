import FTCore
import Foundation

/// Reading and writing the tokenizer as GGUF metadata (llama.cpp's `tokenizer.ggml.*` keys).
extension ByteLevelBPETokenizer {
    /// llama.cpp's token types (`tokenizer.ggml.token_type`).
    enum GGUFTokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Builds the tokenizer of a GGUF file: `tokenizer.ggml.model` (must be `gpt2`), `.pre` (see
    /// ``BPEPreTokenizer``; required), `.tokens`, `.token_type` (control tokens become special
    /// added tokens, user-defined ones plain added tokens), `.merges` (`"a b"`), `.bos_token_id`,
    /// `.eos_token_id` (required), `.padding_token_id` (default: EOS), `.unknown_token_id`, `.add_bos_token`
    /// (default false) and `tokenizer.chat_template`.
    /// - Throws: `GGUFError` (missing key, wrong type) or ``BPETokenizerError`` naming the file and key.
    public init(gguf: GGUFFile) throws {
        let path = gguf.url.path
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw BPETokenizerError.unsupportedSetting(source: path, setting: "tokenizer.ggml.model \"\(model)\" (only \"gpt2\", byte-level BPE)")
        }
        if try gguf.optionalBool("tokenizer.ggml.add_space_prefix") == true {
            throw BPETokenizerError.unsupportedSetting(source: path, setting: "tokenizer.ggml.add_space_prefix=true")
        }
        let preName = try gguf.string("tokenizer.ggml.pre")
        guard let pre = BPEPreTokenizer.ggufNames[preName] else {
            throw BPETokenizerError.unsupportedPreTokenizer(source: "\(path) tokenizer.ggml.pre", name: preName)
        }
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        var added: [BPEAddedToken] = []
        if gguf.metadata["tokenizer.ggml.token_type"] != nil {
            let types = try gguf.intArray("tokenizer.ggml.token_type")
            guard types.count == tokens.count else {
                throw BPETokenizerError.invalidFile(
                    path: path, reason: "tokenizer.ggml.token_type has \(types.count) entries for \(tokens.count) tokens")
            }
            for (i, type) in types.enumerated() {
                if type == GGUFTokenType.control.rawValue {
                    added.append(BPEAddedToken(id: Int32(i), content: tokens[i], special: true))
                } else if type == GGUFTokenType.userDefined.rawValue {
                    added.append(BPEAddedToken(id: Int32(i), content: tokens[i], special: false))
                }
            }
        }
        let mergeLines = try gguf.stringArray("tokenizer.ggml.merges")
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeLines.count)
        for (i, line) in mergeLines.enumerated() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw BPETokenizerError.invalidFile(
                    path: path, reason: "tokenizer.ggml.merges[\(i)] \"\(line)\" is not two tokens separated by a space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        func id(_ key: String) throws -> Int32? {
            guard let v = try gguf.optionalInt(key) else { return nil }
            guard v >= 0 && v < tokens.count else {
                throw BPETokenizerError.unknownToken(source: path, key: key, token: "\(v)")
            }
            return Int32(v)
        }
        guard let eos = try id("tokenizer.ggml.eos_token_id") else {
            throw BPETokenizerError.invalidFile(path: path, reason: "no tokenizer.ggml.eos_token_id")
        }
        let bos = try id("tokenizer.ggml.bos_token_id")
        try self.init(
            vocabulary: tokens, merges: merges, addedTokens: added, preTokenizer: pre, bosTokenId: bos, eosTokenId: eos,
            padTokenId: try id("tokenizer.ggml.padding_token_id") ?? eos, unkTokenId: try id("tokenizer.ggml.unknown_token_id"),
            addsBOS: try gguf.optionalBool("tokenizer.ggml.add_bos_token") ?? false,
            chatTemplate: try gguf.optionalString("tokenizer.chat_template"), source: "\(path) tokenizer.ggml.merges")
    }

    /// The tokenizer of a model path: a `.gguf` file's metadata, or a Hugging Face directory's
    /// `tokenizer.json` + `tokenizer_config.json`.
    /// - Throws: `GGUFError` / ``BPETokenizerError`` naming the file.
    public static func load(model url: URL) throws -> ByteLevelBPETokenizer {
        if url.pathExtension.lowercased() == "gguf" { return try ByteLevelBPETokenizer(gguf: GGUFFile(url: url)) }
        return try load(directory: url)
    }

    /// The `tokenizer.*` metadata of a GGUF file (for `GGUFWriter.add(key:_:)`), in llama.cpp's order;
    /// ``init(gguf:)`` reads it back to the same tokenizer.
    public func ggufMetadata() -> [(key: String, value: GGUFValue)] {
        let addedById = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let types: [GGUFValue] = (0..<vocabulary.count).map { i in
            guard let t = addedById[Int32(i)] else { return .int32(Int32(GGUFTokenType.normal.rawValue)) }
            return .int32(Int32((t.special ? GGUFTokenType.control : GGUFTokenType.userDefined).rawValue))
        }
        var out: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(preTokenizer.ggufName)),
            ("tokenizer.ggml.tokens", .array(vocabulary.map { .string($0) })),
            ("tokenizer.ggml.token_type", .array(types)),
            ("tokenizer.ggml.merges", .array(merges.map { .string($0.0 + " " + $0.1) })),
        ]
        if let bosTokenId { out.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bosTokenId)))) }
        out.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eosTokenId))))
        if let unkTokenId { out.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(unkTokenId)))) }
        out.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(padTokenId))))
        out.append(("tokenizer.ggml.add_bos_token", .bool(addsBOS)))
        if let chatTemplate { out.append(("tokenizer.chat_template", .string(chatTemplate))) }
        return out
    }
}
