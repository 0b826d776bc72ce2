import Foundation

/// The BPE model of a byte-level tokenizer: the vocabulary's ids and the ranked merges, applied to
/// one pre-tokenized word at a time as Hugging Face's `BPE` model does (`dropout: null`,
/// `unk_token: null`, `byte_fallback: false`, `ignore_merges: false`).
///
/// A word's bytes start as the ids of their alphabet characters (a byte whose character is not in the
/// vocabulary is dropped, as HF drops it without an unknown token); then, while some adjacent pair
/// has a merge, the pair of lowest rank (leftmost on ties) becomes the merged token.
struct BPEMerges: Sendable {
    /// A merge's rank (its line in the merges list) and the id of the merged token.
    struct Merge: Sendable {
        var rank: Int32
        var id: Int32
    }

    /// The id of each byte's alphabet character, -1 when the vocabulary lacks it. [256]
    let byteIds: [Int32]
    /// Merges by pair, the key packing (left id << 32 | right id).
    let merges: [UInt64: Merge]
    private let cache = WordCache()

    /// - Parameters:
    ///   - tokenIds: token string → id (the model vocabulary).
    ///   - merges: the ranked pairs, rank = index.
    ///   - source: what to name in errors (file or GGUF key).
    /// - Throws: ``BPETokenizerError/unknownMergeToken(source:index:token:)`` when a merge names a token
    ///   (or makes one) that the vocabulary lacks.
    init(tokenIds: [String: Int32], merges pairs: [(String, String)], source: String) throws {
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = tokenIds[String(ByteLevelAlphabet.characters[b])] { byteIds[b] = id }
        }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let left = tokenIds[a] else {
                throw BPETokenizerError.unknownMergeToken(source: source, index: rank, token: a)
            }
            guard let right = tokenIds[b] else {
                throw BPETokenizerError.unknownMergeToken(source: source, index: rank, token: b)
            }
            guard let merged = tokenIds[a + b] else {
                throw BPETokenizerError.unknownMergeToken(source: source, index: rank, token: a + b)
            }
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            if merges[key] == nil {  // a repeated pair keeps its first (lowest) rank, as HF
                merges[key] = Merge(rank: Int32(rank), id: merged)
            }
        }
        self.byteIds = byteIds
        self.merges = merges
    }

    /// Appends the ids of one word (its UTF-8 bytes) to `ids`.
    func encode(word bytes: [UInt8], into ids: inout [Int32]) {
        if bytes.count <= WordCache.maxWordLength, let cached = cache[bytes] {
            ids.append(contentsOf: cached)
            return
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(bytes.count)
        for b in bytes {
            let id = byteIds[Int(b)]
            if id >= 0 { symbols.append(id) }
        }
        merge(&symbols)
        if bytes.count <= WordCache.maxWordLength { cache[bytes] = symbols }
        ids.append(contentsOf: symbols)
    }

    /// Merges the lowest-ranked adjacent pair until none has a merge.
    private func merge(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var bestRank = Int32.max
            var bestIndex = -1
            var bestId: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(bitPattern: symbols[i])) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1]))
                if let m = merges[key], m.rank < bestRank {
                    bestRank = m.rank
                    bestIndex = i
                    bestId = m.id
                }
            }
            if bestIndex < 0 { return }
            symbols[bestIndex] = bestId
            symbols.remove(at: bestIndex + 1)
        }
    }
}

/// Ids of words already merged, shared by the tokenizer's copies and threads (a lock around a
/// dictionary, emptied when it grows past `capacity`).
final class WordCache: @unchecked Sendable {
    static let maxWordLength = 64
    private static let capacity = 200_000
    private var entries: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()

    subscript(word: [UInt8]) -> [Int32]? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return entries[word]
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[word] = newValue
        }
    }
}
