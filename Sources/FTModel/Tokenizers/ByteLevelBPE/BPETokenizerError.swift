/// Errors from building, loading or using a ``ByteLevelBPETokenizer``; each names the file (or GGUF
/// key, or template) and the problem.
public enum BPETokenizerError: Error, CustomStringConvertible, Equatable {
    /// A file is missing, unreadable, not JSON, or lacks a key / has it of the wrong type.
    case invalidFile(path: String, reason: String)
    /// A merge names a token (or makes one) that the vocabulary lacks.
    case unknownMergeToken(source: String, index: Int, token: String)
    /// A pre-tokenizer (tokenizer.json type or GGUF `tokenizer.ggml.pre` name) fttrain cannot match exactly.
    case unsupportedPreTokenizer(source: String, name: String)
    /// Some other setting fttrain cannot reproduce exactly (a post-processor, `add_prefix_space`, ...).
    case unsupportedSetting(source: String, setting: String)
    /// A special token named by the configuration is not in the vocabulary, or an id is out of range.
    case unknownToken(source: String, key: String, token: String)
    /// The model has no chat template.
    case noChatTemplate
    /// The chat template is not one of the known ones.
    case unknownChatTemplate(firstLine: String, supported: [String])
    /// A message role the template does not allow.
    case unsupportedRole(String)

    public var description: String {
        switch self {
        case .invalidFile(let path, let reason):
            return "Invalid tokenizer file \(path): \(reason)"
        case .unknownMergeToken(let source, let index, let token):
            return "\(source): merge \(index) names the token \"\(token)\", which is not in the vocabulary"
        case .unsupportedPreTokenizer(let source, let name):
            return "\(source): unsupported pre-tokenizer \"\(name)\" (supported: ByteLevel with GPT-2's regex, "
                + "Sequence[Digits(individual_digits), ByteLevel]; GGUF: \(BPEPreTokenizer.ggufNames.keys.sorted().joined(separator: ", ")))"
        case .unsupportedSetting(let source, let setting):
            return "\(source): unsupported setting \(setting)"
        case .unknownToken(let source, let key, let token):
            return "\(source): \(key) \"\(token)\" is not a token of the vocabulary"
        case .noChatTemplate:
            return "The tokenizer has no chat template"
        case .unknownChatTemplate(let firstLine, let supported):
            return "Unknown chat template \"\(firstLine)\": fttrain renders only \(supported.joined(separator: ", "))"
        case .unsupportedRole(let role):
            return "Chat message role \"\(role)\" is not supported (system, user or assistant)"
        }
    }
}
