import FTModel
import Foundation
import Yams

/// `add_tokens`: tokens added to an encoder's vocabulary before training, as
/// `tokenizer.add_tokens([...])` + `model.resize_token_embeddings(len(tokenizer))` in
/// transformers. A YAML/JSON list of tokens, or the path of a file with one token per line (on the
/// command line: `--add-tokens 新词,北京大学` or `--add-tokens tokens.txt`, a path when the
/// file exists).
public enum AddedTokenSetting: Sendable, Equatable, Codable {
    case tokens([String])
    case file(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([String].self) {
            self = .tokens(list)
        } else {
            self = .file(try container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .tokens(let list): try container.encode(list)
        case .file(let path): try container.encode(path)
        }
    }

    /// The tokens, read from the file when the setting names one.
    /// - Throws: `TokenizerError` naming an unreadable file.
    public func resolve() throws -> [String] {
        switch self {
        case .tokens(let list): return list
        case .file(let path): return try BertTokenizer.readTokenList(path: path)
        }
    }

    /// Where the tokens come from, for messages.
    public var source: String {
        switch self {
        case .tokens: return "add_tokens"
        case .file(let path): return path
        }
    }
}

extension AddedTokenSetting: ConfigurationValue {
    static var expected: String { "a list of tokens or the path of a file with one token per line" }
    static var placeholder: String { "<token,token,...|file>" }
    init?(flagText: String) {
        if FileManager.default.fileExists(atPath: flagText) {
            self = .file(flagText)
            return
        }
        let inner = flagText.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self = .tokens(inner.isEmpty ? [] : inner.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
    }
    var displayText: String {
        switch self {
        case .tokens(let list): return "[" + list.joined(separator: ", ") + "]"
        case .file(let path): return path
        }
    }
    var yamlNode: Node {
        switch self {
        case .tokens(let list): return Node(list.map { Node($0, .implicit, .doubleQuoted) }, .implicit, .flow)
        case .file(let path): return Node(path, .implicit, .doubleQuoted)
        }
    }
}
