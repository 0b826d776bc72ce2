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
    /// Merges by pair.
    let merges: MergeTable
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
        var merges = MergeTable(capacity: pairs.count)
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
            merges.insertIfAbsent(left, right, Merge(rank: Int32(rank), id: merged))  // a repeated pair keeps its first rank
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

    @inline(__always) private func lookup(_ left: Int32, _ right: Int32) -> Merge? {
        merges.find(left, right)
    }

    /// Merges the lowest-ranked adjacent pair (leftmost on ties) until none has a merge.
    private func merge(_ symbols: inout [Int32]) {
        if symbols.count > 64 {
            mergeLong(&symbols)
            return
        }
        // Short words: the rank of each adjacent pair kept in an array, the lowest found by a scan
        // (no hashing in the scan; two look-ups per merge).
        guard symbols.count > 1 else { return }
        var ranks = [Int32](repeating: .max, count: symbols.count - 1)
        var mergedIds = [Int32](repeating: 0, count: symbols.count - 1)
        @inline(__always) func refresh(_ i: Int) {
            if let m = lookup(symbols[i], symbols[i + 1]) {
                ranks[i] = m.rank
                mergedIds[i] = m.id
            } else {
                ranks[i] = .max
            }
        }
        for i in 0..<ranks.count { refresh(i) }
        while !ranks.isEmpty {
            var best = 0
            for i in 1..<ranks.count where ranks[i] < ranks[best] { best = i }
            if ranks[best] == .max { return }
            symbols[best] = mergedIds[best]
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            mergedIds.remove(at: best)
            if best > 0 { refresh(best - 1) }
            if best < ranks.count { refresh(best) }
        }
    }

    /// Long words (runs of CJK text, long identifiers): HF's algorithm, a min-heap of candidate pairs
    /// by (rank, position) over a linked list of symbols, stale entries skipped when popped. O(n log n).
    private func mergeLong(_ symbols: inout [Int32]) {
        let n = symbols.count
        var id = symbols
        var next = [Int](0..<n).map { $0 + 1 }
        next[n - 1] = -1
        var prev = [Int](0..<n).map { $0 - 1 }
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap()
        for i in 0..<(n - 1) {
            if let m = lookup(id[i], id[i + 1]) { heap.push(.init(rank: m.rank, pos: i, left: id[i], right: id[i + 1], merged: m.id)) }
        }
        while let top = heap.pop() {
            let p = top.pos
            let q = next[p]
            // Stale: the left symbol was merged away or changed, or its right neighbour changed.
            guard alive[p], q >= 0, id[p] == top.left, id[q] == top.right else { continue }
            id[p] = top.merged
            alive[q] = false
            let r = next[q]
            next[p] = r
            if r >= 0 { prev[r] = p }
            let l = prev[p]
            if l >= 0, let m = lookup(id[l], id[p]) { heap.push(.init(rank: m.rank, pos: l, left: id[l], right: id[p], merged: m.id)) }
            if r >= 0, let m = lookup(id[p], id[r]) { heap.push(.init(rank: m.rank, pos: p, left: id[p], right: id[r], merged: m.id)) }
        }
        symbols.removeAll(keepingCapacity: true)
        var i = 0
        while i >= 0 {
            symbols.append(id[i])
            i = next[i]
        }
    }
}

/// The merges by (left, right) pair: open addressing with linear probing and a multiplicative hash
/// (several times faster than `Dictionary`'s SipHash on this hot path).
struct MergeTable: Sendable {
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [BPEMerges.Merge]
    private let shift: UInt64

    init(capacity: Int) {
        var bits = 4
        while (1 << bits) < capacity * 2 { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        values = [BPEMerges.Merge](repeating: .init(rank: 0, id: 0), count: 1 << bits)
        shift = UInt64(64 - bits)
    }

    @inline(__always) private static func key(_ l: Int32, _ r: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Inserts unless the pair is already there (its first rank stays).
    mutating func insertIfAbsent(_ l: Int32, _ r: Int32, _ value: BPEMerges.Merge) {
        let k = Self.key(l, r)
        var i = slot(k)
        while keys[i] != Self.empty {
            if keys[i] == k { return }
            i = (i + 1) & (keys.count - 1)
        }
        keys[i] = k
        values[i] = value
    }

    @inline(__always) func find(_ l: Int32, _ r: Int32) -> BPEMerges.Merge? {
        let k = Self.key(l, r)
        var i = slot(k)
        while true {
            let stored = keys[i]
            if stored == k { return values[i] }
            if stored == Self.empty { return nil }
            i = (i + 1) & (keys.count - 1)
        }
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
private struct PairHeap {
    struct Entry {
        var rank: Int32
        var pos: Int
        var left: Int32
        var right: Int32
        var merged: Int32

        @inline(__always) static func < (a: Entry, b: Entry) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos
        }
    }

    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var c = items.count - 1
        while c > 0 {
            let parent = (c - 1) / 2
            guard items[c] < items[parent] else { break }
            items.swapAt(c, parent)
            c = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1
                let r = l + 1
                var m = p
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return top
    }
}

/// Ids of words already merged, shared by the tokenizer's copies and threads (a lock around a
/// dictionary, emptied when it grows past `capacity`).
final class WordCache: @unchecked Sendable {
    static let maxWordLength = 64
    private static let capacity = 200_000
    private var entries: [WordKey: [Int32]] = [:]
    private let lock = NSLock()

    subscript(word: [UInt8]) -> [Int32]? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return entries[WordKey(bytes: word)]
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[WordKey(bytes: word)] = newValue
        }
    }
}

/// A word's bytes as a dictionary key hashed in one pass over the raw bytes (an `[UInt8]` key is
/// hashed element by element).
private struct WordKey: Hashable {
    var bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
