/// The chat templates fttrain renders without a Jinja engine, recognised from the template text
/// (after normalising whitespace and `\n` escapes), each rendered exactly as transformers'
/// `apply_chat_template(messages, tokenize=False, add_generation_prompt=…)` renders it.
public enum KnownChatTemplate: Sendable, Equatable {
    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n` per message) with a default system message put
    /// first when the first message is not a system one: SmolLM2-Instruct's template.
    case chatMLWithDefaultSystem(String)
    /// Plain ChatML (the classic template of transformers' documentation, OpenHermes, ...).
    case chatML

    /// Names of the supported templates, for errors.
    public static let supportedNames = ["SmolLM2's ChatML (with a default system message)", "plain ChatML"]

    private static let loopStart = "{% for message in messages %}"
    private static let defaultSystemOpen = "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    private static let defaultSystemClose = "<|im_end|>\n' }}{% endif %}"
    private static let turn = "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    private static let generationPrompt = "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

    /// The Jinja text of the template (as SmolLM2's GGUF and transformers write it).
    public var jinja: String {
        switch self {
        case .chatMLWithDefaultSystem(let system):
            return Self.loopStart + Self.defaultSystemOpen + system + Self.defaultSystemClose + Self.turn + Self.generationPrompt
        case .chatML:
            return Self.loopStart + Self.turn + Self.generationPrompt
        }
    }

    /// Recognises a template.
    /// - Throws: ``BPETokenizerError/unknownChatTemplate(firstLine:supported:)`` naming its first line.
    public init(recognising template: String) throws {
        let key = Self.canonical(template)
        if key == Self.canonical(KnownChatTemplate.chatML.jinja) {
            self = .chatML
            return
        }
        // The default system message: the text between "<|im_start|>system" + newline and "<|im_end|>".
        if let open = template.range(of: "<|im_start|>system") {
            var rest = template[open.upperBound...]
            if rest.hasPrefix("\\n") {
                rest = rest.dropFirst(2)
            } else if rest.hasPrefix("\n") {
                rest = rest.dropFirst()
            }
            if let close = rest.range(of: "<|im_end|>") {
                let system = String(rest[..<close.lowerBound])
                let candidate = KnownChatTemplate.chatMLWithDefaultSystem(system)
                if !system.contains("'") && !system.contains("\\") && key == Self.canonical(candidate.jinja) {
                    self = candidate
                    return
                }
            }
        }
        let firstLine = template.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        throw BPETokenizerError.unknownChatTemplate(firstLine: String(firstLine.prefix(120)), supported: Self.supportedNames)
    }

    /// The template with whitespace outside string literals removed, literals in single quotes and
    /// their `\n` escapes made newlines (whitespace inside a literal is kept: it is rendered).
    private static func canonical(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var quote: Unicode.Scalar? = nil
        var it = s.unicodeScalars.makeIterator()
        while let c = it.next() {
            if let q = quote {
                if c == q {
                    out.append("'")
                    quote = nil
                } else if c == "\\" {
                    guard let e = it.next() else { break }
                    switch e {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    default: out.append(e)
                    }
                } else {
                    out.append(c)
                }
            } else if c == "'" || c == "\"" {
                quote = c
                out.append("'")
            } else if !c.properties.isWhitespace {
                out.append(c)
            }
        }
        return String(out)
    }

    /// The prompt text of `messages`.
    /// - Throws: ``BPETokenizerError/unsupportedRole(_:)`` for a role other than system, user, assistant.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var out = ""
        for (i, m) in messages.enumerated() {
            guard m.role == "system" || m.role == "user" || m.role == "assistant" else {
                throw BPETokenizerError.unsupportedRole(m.role)
            }
            if i == 0, case .chatMLWithDefaultSystem(let system) = self, m.role != "system" {
                out += "<|im_start|>system\n" + system + "<|im_end|>\n"
            }
            out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}

extension ByteLevelBPETokenizer {
    public func applyChatTemplate(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        guard let chatTemplate else { throw BPETokenizerError.noChatTemplate }
        return try KnownChatTemplate(recognising: chatTemplate).render(messages, addGenerationPrompt: addGenerationPrompt)
    }
}
