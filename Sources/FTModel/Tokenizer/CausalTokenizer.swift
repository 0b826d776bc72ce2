/// The tokenizer of a causal language model (byte-level BPE for Llama/SmolLM2/GPT-2 style models):
/// text ↔ ids, its special tokens and its chat template. The causal-LM task, `generate` and the
/// exporters are written against it; `ByteLevelBPETokenizer` is the first conforming type.
public protocol CausalTokenizer: Sendable {
    /// Rows of the embedding table the ids index (added tokens included).
    var vocabularySize: Int { get }
    /// Beginning of sequence, when the model has one.
    var bosTokenId: Int32? { get }
    /// End of sequence: generation stops on it; the chat template ends each turn with it for ChatML models.
    var eosTokenId: Int32 { get }
    /// The id padding positions carry (masked out of attention and loss).
    var padTokenId: Int32 { get }
    /// Whether `encode` puts `bosTokenId` first (`add_bos_token`).
    var addsBOS: Bool { get }

    /// The ids of `text`, as Hugging Face's tokenizer gives them with `add_special_tokens=True`:
    /// special and added tokens written in the text are recognised as such.
    func encode(_ text: String) -> [Int32]
    /// The text of `ids`; `skipSpecialTokens` drops special tokens as `decode(skip_special_tokens=True)` does.
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    /// The prompt text of a conversation, as `apply_chat_template(messages, tokenize=False,
    /// add_generation_prompt=…)` renders it for this model.
    /// - Throws: when the model's template is not one fttrain knows (naming it), or a role is not allowed.
    func applyChatTemplate(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String
}

/// One turn of a conversation (`{"role": "user", "content": "..."}`).
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
