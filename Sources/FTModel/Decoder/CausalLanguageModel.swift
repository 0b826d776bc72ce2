import FTCore

/// A decoder-only language model (Llama and its kin) behind the model interface: the trainer
/// drives it through `SequenceModel` (`forward` returns the `(B, T, V)` next-token logits in
/// `ModelOutputs.logits`, `backward` takes their gradient as `dLogits`); generation drives it through
/// a key/value cache, one sequence at a time.
public protocol CausalLanguageModel: SequenceModel {
    /// A key/value cache for one sequence of up to `capacity` positions (≤ `maxSequenceLength`).
    func makeCache(capacity: Int) throws -> any KeyValueCache
    /// Runs `tokens` at positions `cache.count ..< cache.count + tokens.count` (a prompt's prefill
    /// or one decode step), appends their keys and values to `cache` and returns the `(V)` logits of
    /// the last of them, valid until the next call.
    /// - Throws: `ModelError.badInput` when the tokens do not fit the cache or an id is outside the vocabulary.
    func extend(cache: any KeyValueCache, tokens: UnsafeBufferPointer<Int32>) throws -> UnsafePointer<Float>
}

/// The keys and values a causal model keeps of the positions it has seen.
public protocol KeyValueCache: AnyObject {
    /// Positions held.
    var count: Int { get }
    /// Positions it can hold.
    var capacity: Int { get }
    /// Forgets every position (the storage is kept for the next sequence).
    func reset()
}
