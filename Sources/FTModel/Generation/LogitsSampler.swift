import FTCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the next token is chosen (Hugging Face's `GenerationConfig` keys and defaults).
public struct SamplingSettings: Sendable, Equatable {
    /// `do_sample`: false is greedy decoding (argmax).
    public var doSample: Bool
    /// Divides the logits before top-k/top-p (`temperature`); 0 means greedy.
    public var temperature: Float
    /// Keeps the `topK` most likely tokens (ties with the k-th kept too); 0 turns it off. HF's default is 50.
    public var topK: Int
    /// Keeps the smallest set of most likely tokens whose probability reaches `topP` (the token
    /// that crosses it included); 1 turns it off.
    public var topP: Float
    /// Seeds the sampling generator: the same seed, prompt and model give the same text.
    public var seed: UInt64

    public init(doSample: Bool = false, temperature: Float = 1, topK: Int = 50, topP: Float = 1, seed: UInt64 = 42) {
        self.doSample = doSample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    /// Whether decoding is greedy (no sampling, or temperature 0).
    public var isGreedy: Bool { !doSample || temperature == 0 }

    /// - Throws: `ModelError.badInput` naming the setting outside its range.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw ModelError.badInput("temperature must be >= 0, got \(temperature)") }
        guard topK >= 0 else { throw ModelError.badInput("top_k must be >= 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw ModelError.badInput("top_p must be in (0, 1], got \(topP)") }
    }
}

/// Picks next tokens from logits with Hugging Face's warpers in their order — temperature →
/// top-k (`TopKLogitsWarper`) → top-p (`TopPLogitsWarper`, `min_tokens_to_keep` 1) — then a draw
/// from the softmax of what is left with a seeded `SeededRNG`; or the argmax when greedy.
/// reference: transformers/generation/logits_process.py
///
/// The draw cannot be PyTorch's (`torch.multinomial` has its own generator); what matches HF is
/// the set of tokens that can be drawn and their probabilities. With top-k only the k best (found by
/// quickselect) are sorted; without, the whole vocabulary is (≈ 1 ms for 49152 logits, small
/// beside a decode step).
public struct LogitsSampler {
    public let settings: SamplingSettings
    private var rng: SeededRNG
    /// Candidate token ids and their scaled logits, reused across calls.
    private var ids: [Int32] = []
    private var values: [Float] = []

    public init(settings: SamplingSettings) {
        self.settings = settings
        rng = SeededRNG(seed: settings.seed, stream: 0x5A4D_504C)
    }

    /// The next token of `logits` (V).
    public mutating func next(_ logits: UnsafePointer<Float>, count V: Int) -> Int32 {
        if settings.isGreedy { return Self.argmax(logits, count: V) }
        let kept = keep(logits, count: V)
        // Softmax over the kept tokens (the removed ones have probability 0) and one draw.
        let maxValue = values[0]
        var sum: Float = 0
        for i in 0..<kept {
            values[i] = expf(values[i] - maxValue)
            sum += values[i]
        }
        let u = rng.nextUniform() * sum
        var cumulative: Float = 0
        for i in 0..<kept {
            cumulative += values[i]
            if u < cumulative { return ids[i] }
        }
        return ids[kept - 1]  // u rounded up to the sum
    }

    /// The tokens the warpers keep, most likely first (ties: lower id first), with their
    /// probabilities after the warpers; greedy keeps the argmax alone.
    public mutating func distribution(_ logits: UnsafePointer<Float>, count V: Int) -> [(token: Int32, probability: Float)] {
        if settings.isGreedy { return [(Self.argmax(logits, count: V), 1)] }
        let kept = keep(logits, count: V)
        var sum: Float = 0
        for i in 0..<kept { sum += expf(values[i] - values[0]) }
        return (0..<kept).map { (ids[$0], expf(values[$0] - values[0]) / sum) }
    }

    /// The first index of the largest logit (`torch.argmax`).
    public static func argmax(_ logits: UnsafePointer<Float>, count V: Int) -> Int32 {
        var best = 0
        for j in 1..<max(V, 1) where logits[j] > logits[best] { best = j }
        return Int32(best)
    }

    /// Fills `ids`/`values` with the kept tokens, most likely first, and returns how many.
    private mutating func keep(_ logits: UnsafePointer<Float>, count V: Int) -> Int {
        if ids.count < V {
            ids = [Int32](repeating: 0, count: V)
            values = [Float](repeating: 0, count: V)
        }
        let T = settings.temperature
        // Temperature, then top-k: the k largest, plus any tied with the k-th (HF removes only `score < kth`).
        var n = 0
        for j in 0..<V {
            ids[j] = Int32(j)
            values[j] = logits[j] / T
        }
        n = V
        ids.withUnsafeMutableBufferPointer { idBuffer in
            values.withUnsafeMutableBufferPointer { valueBuffer in
                Self.sortDescending(ids: idBuffer, values: valueBuffer, count: n, topK: settings.topK)
            }
        }
        if settings.topK > 0 && settings.topK < V {
            let kth = values[settings.topK - 1]
            n = settings.topK
            while n < V && values[n] == kth { n += 1 }
        }
        // Top-p: ascending cumulative probabilities (float32, as PyTorch's cumsum); a token goes
        // when the probability of it and of everything less likely is <= 1 − top_p; the most likely stays.
        if settings.topP < 1 {
            let maxValue = values[0]
            var sum: Float = 0
            for i in 0..<n { sum += expf(values[i] - maxValue) }
            var cumulative: Float = 0
            var keepCount = n
            for i in stride(from: n - 1, through: 1, by: -1) {
                cumulative += expf(values[i] - maxValue) / sum
                if cumulative <= 1 - settings.topP { keepCount = i } else { break }
            }
            n = keepCount
        }
        return n
    }

    /// Orders the candidates by value, descending, ties by id; with `topK` > 0 only far enough
    /// that the first `topK` (and the ties after them) are in place.
    private static func sortDescending(ids: UnsafeMutableBufferPointer<Int32>, values: UnsafeMutableBufferPointer<Float>, count n: Int, topK: Int) {
        func before(_ a: Int, _ b: Int) -> Bool {
            values[a] != values[b] ? values[a] > values[b] : ids[a] < ids[b]
        }
        var order = Array(0..<n)
        if topK > 0 && topK < n {
            // Threshold: the k-th largest value; keep everything ≥ it, sort that part only.
            var scratch = Array(values[0..<n])
            let kth = quickselect(&scratch, k: topK - 1)
            order = order.filter { values[$0] >= kth }
        }
        order.sort(by: before)
        let sortedIds = order.map { ids[$0] }, sortedValues = order.map { values[$0] }
        for (i, (id, value)) in zip(sortedIds, sortedValues).enumerated() {
            ids[i] = id
            values[i] = value
        }
    }

    /// The `k`-th largest (0-based) of `a` (reordered).
    private static func quickselect(_ a: inout [Float], k: Int) -> Float {
        var low = 0, high = a.count - 1
        while low < high {
            let pivot = a[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { high = j } else if k >= i { low = i } else { return a[k] }
        }
        return a[k]
    }
}
