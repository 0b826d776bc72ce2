import FTModel

/// A byte-level `CausalTokenizer` for tests of what sits on top of the protocol (SFT data,
/// generation): ids 0–255 are the UTF-8 bytes, then `<|endoftext|>` (256), `<|im_start|>` (257)
/// and `<|im_end|>` (258, EOS and pad) as special tokens; a ChatML template like SmolLM2's
/// (without its default system prompt). `addsBOS` puts 256 first when set.
public struct ByteTestTokenizer: CausalTokenizer {
    public static let endOfText: Int32 = 256
    public static let imStart: Int32 = 257
    public static let imEnd: Int32 = 258
    static let specials: [(String, Int32)] = [("<|endoftext|>", 256), ("<|im_start|>", 257), ("<|im_end|>", 258)]

    public let addsBOS: Bool
    public init(addsBOS: Bool = false) { self.addsBOS = addsBOS }

    public var vocabularySize: Int { 259 }
    public var bosTokenId: Int32? { Self.endOfText }
    public var eosTokenId: Int32 { Self.imEnd }
    public var padTokenId: Int32 { Self.imEnd }

    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = addsBOS ? [Self.endOfText] : []
        var rest = Substring(text)
        outer: while !rest.isEmpty {
            for (name, id) in Self.specials where rest.hasPrefix(name) {
                ids.append(id)
                rest = rest.dropFirst(name.count)
                continue outer
            }
            ids += String(rest.first!).utf8.map { Int32($0) }
            rest = rest.dropFirst()
        }
        return ids
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if id < 256 {
                bytes.append(UInt8(id))
            } else if !skipSpecialTokens, let name = Self.specials.first(where: { $0.1 == id })?.0 {
                bytes += Array(name.utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func applyChatTemplate(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var text = ""
        for message in messages {
            guard ["system", "user", "assistant"].contains(message.role) else {
                throw ModelError.badInput("role \(message.role) is not allowed")
            }
            text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}
