import FTCore

/// Text generation with a causal model's key/value cache: the prompt is run once (prefill), then
/// one token at a time (decode) until a stop token or `maxNewTokens`, each chosen by a
/// `LogitsSampler`. Streaming: `onText` receives the text as it grows, a piece only once its
/// bytes form complete UTF-8 (a byte-level BPE token may end inside a character).
public final class TextGenerator {
    public let model: any CausalLanguageModel
    public let tokenizer: any CausalTokenizer
    /// Tokens that end generation: the tokenizer's EOS and, for ChatML models, `<|im_end|>`.
    public let stopTokens: Set<Int32>
    private var cache: (any KeyValueCache)?

    public init(model: any CausalLanguageModel, tokenizer: any CausalTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        stopTokens = Self.stopTokens(of: tokenizer)
    }

    /// EOS, plus `<|im_end|>` and `<|endoftext|>` when the tokenizer has them as single special tokens.
    public static func stopTokens(of tokenizer: any CausalTokenizer) -> Set<Int32> {
        var stops: Set<Int32> = [tokenizer.eosTokenId]
        for name in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"] {
            var ids = tokenizer.encode(name)
            if tokenizer.addsBOS, let bos = tokenizer.bosTokenId, ids.first == bos { ids.removeFirst() }
            if ids.count == 1, tokenizer.decode(ids, skipSpecialTokens: true).isEmpty { stops.insert(ids[0]) }
        }
        return stops
    }

    /// What one generation produced.
    public struct Output: Sendable, Equatable {
        /// The new tokens (the stop token excluded).
        public var tokens: [Int32]
        /// Their text (special tokens skipped).
        public var text: String
        /// Whether a stop token ended it (else `maxNewTokens` did).
        public var stopped: Bool
        /// Prompt tokens run.
        public var promptTokens: Int
    }

    /// Generates after the ids of `prompt` (encoded with the tokenizer, special tokens recognised).
    public func generate(
        prompt: String, maxNewTokens: Int, sampler: inout LogitsSampler, onText: ((String) -> Void)? = nil
    ) throws -> Output {
        try generate(promptIds: tokenizer.encode(prompt), maxNewTokens: maxNewTokens, sampler: &sampler, onText: onText)
    }

    /// Generates after `promptIds`.
    /// - Throws: `ModelError.badInput` when the prompt is empty or leaves no room below the model's
    ///   `maxSequenceLength`; the model's errors.
    public func generate(
        promptIds: [Int32], maxNewTokens: Int, sampler: inout LogitsSampler, onText: ((String) -> Void)? = nil
    ) throws -> Output {
        guard !promptIds.isEmpty else { throw ModelError.badInput("the prompt has no tokens") }
        guard promptIds.count < model.maxSequenceLength else {
            throw ModelError.badInput("the prompt has \(promptIds.count) tokens; the model takes at most \(model.maxSequenceLength)")
        }
        let capacity = min(promptIds.count + max(maxNewTokens, 0), model.maxSequenceLength)
        let cache: any KeyValueCache
        if let existing = self.cache, existing.capacity >= capacity {
            existing.reset()
            cache = existing
        } else {
            cache = try model.makeCache(capacity: capacity)
            self.cache = cache
        }
        let V = model.vocabularySize
        return try Self.decode(
            promptIds: promptIds, maxNewTokens: capacity - promptIds.count, stopTokens: stopTokens, tokenizer: tokenizer,
            sampler: &sampler, onText: onText
        ) { tokens in
            (try tokens.withUnsafeBufferPointer { try model.extend(cache: cache, tokens: $0) }, V)
        }
    }

    /// The decoding loop over any `extend` (the model's with its cache; a stand-in in tests):
    /// `extend` runs tokens and returns the logits of the last one and the vocabulary size.
    public static func decode(
        promptIds: [Int32], maxNewTokens: Int, stopTokens: Set<Int32>, tokenizer: any CausalTokenizer,
        sampler: inout LogitsSampler, onText: ((String) -> Void)?,
        extend: ([Int32]) throws -> (logits: UnsafePointer<Float>, count: Int)
    ) throws -> Output {
        var generated: [Int32] = []
        var stopped = false
        var streamer = IncrementalDetokenizer(tokenizer: tokenizer)
        if maxNewTokens > 0 {
            var (logits, V) = try extend(promptIds)
            while true {
                let token = sampler.next(logits, count: V)
                if stopTokens.contains(token) {
                    stopped = true
                    break
                }
                generated.append(token)
                if let onText, let piece = streamer.push(token) { onText(piece) }
                if generated.count >= maxNewTokens { break }
                (logits, V) = try extend([token])
            }
        }
        if let onText, let rest = streamer.finish() { onText(rest) }
        return Output(
            tokens: generated, text: tokenizer.decode(generated, skipSpecialTokens: true), stopped: stopped,
            promptTokens: promptIds.count)
    }
}

/// Turns a growing list of tokens into text pieces to print: the text of all tokens so far is
/// decoded, and what it adds beyond what was emitted is released only when it does not end in
/// an incomplete UTF-8 sequence (decoded as U+FFFD), as Hugging Face's `TextStreamer` does.
public struct IncrementalDetokenizer {
    let tokenizer: any CausalTokenizer
    private var tokens: [Int32] = []
    private var emitted = ""

    public init(tokenizer: any CausalTokenizer) { self.tokenizer = tokenizer }

    /// Adds `token`; returns the new text when it is complete.
    public mutating func push(_ token: Int32) -> String? {
        tokens.append(token)
        let text = tokenizer.decode(tokens, skipSpecialTokens: true)
        guard !text.hasSuffix("\u{FFFD}"), text.hasPrefix(emitted), text.count > emitted.count else { return nil }
        let piece = String(text.dropFirst(emitted.count))
        emitted = text
        return piece
    }

    /// What remains unprinted at the end (an incomplete character, as U+FFFD).
    public mutating func finish() -> String? {
        let text = tokenizer.decode(tokens, skipSpecialTokens: true)
        guard text.hasPrefix(emitted), text.count > emitted.count else { return nil }
        let piece = String(text.dropFirst(emitted.count))
        emitted = text
        return piece
    }
}
