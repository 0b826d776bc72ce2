import Foundation

/// SentencePiece's Unigram model as Hugging Face `tokenizers` runs it (`Unigram::encode_optimized`):
/// the segmentation of a piece of normalised text into vocabulary pieces with the best total
/// log-probability (Viterbi over the lattice of every vocabulary piece at every position); a
/// character no piece covers on its own costs `min score − 10` and becomes the unknown token,
/// consecutive unknown characters fused into one; with `byte_fallback`, a piece outside the
/// vocabulary becomes its UTF-8 bytes' `<0xXX>` tokens when they all exist.
struct UnigramModel: Sendable {
    /// [piece, log-probability] by id. [vocabularySize]
    let pieces: [String]
    let scores: [Double]
    let unkId: Int32?
    let byteFallback: Bool
    /// Piece → id (the last id of a repeated piece, as `tokenizers`' map keeps it).
    let ids: [String: Int32]
    /// A trie over the pieces' scalars: `children[node][scalar]` → node, `terminal[node]` → id.
    private let children: [[UInt32: Int32]]
    private let terminal: [Int32]
    private let unknownScore: Double
    /// `<0xXX>` ids, or -1. [256]
    private let byteIds: [Int32]

    init(pieces: [String], scores: [Double], unkId: Int32?, byteFallback: Bool) {
        self.pieces = pieces
        self.scores = scores
        self.unkId = unkId
        self.byteFallback = byteFallback
        var ids: [String: Int32] = [:]
        var children: [[UInt32: Int32]] = [[:]]
        var terminal: [Int32] = [-1]
        for (i, piece) in pieces.enumerated() {
            ids[piece] = Int32(i)
            guard !piece.isEmpty else { continue }
            var node = 0
            for s in piece.unicodeScalars {
                if let next = children[node][s.value] {
                    node = Int(next)
                } else {
                    children[node][s.value] = Int32(children.count)
                    node = children.count
                    children.append([:])
                    terminal.append(-1)
                }
            }
            terminal[node] = Int32(i)
        }
        for (piece, id) in ids {
            // The trie's id of a piece is the map's (the last of duplicates).
            var node = 0
            for s in piece.unicodeScalars { node = Int(children[node][s.value] ?? 0) }
            if !piece.isEmpty { terminal[node] = id }
        }
        self.ids = ids
        self.children = children
        self.terminal = terminal
        unknownScore = (scores.min() ?? 0) - 10
        byteIds = (0..<256).map { ids[Self.byteToken(UInt8($0))] ?? -1 }
    }

    /// `<0xXX>`: the byte-fallback piece of `b`.
    static func byteToken(_ b: UInt8) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// The tokens of `s` (one pre-tokenized piece): ids and each token's scalar range in `s`, and
    /// the token's text (`Token.value` in `tokenizers`: the piece, or its characters for an
    /// unknown one; `<0xXX>` for a byte).
    func tokenize(_ s: [Unicode.Scalar], into out: inout [(id: Int32, range: Range<Int>, value: [Unicode.Scalar])]) {
        let n = s.count
        guard n > 0 else { return }
        // best[k]: the best path ending at k — its score, where its last token starts, the token id.
        var bestScore = [Double](repeating: 0, count: n + 1)
        var startsAt = [Int](repeating: -1, count: n + 1)
        var bestId = [Int32](repeating: -1, count: n + 1)
        for start in 0..<n {
            let scoreHere = bestScore[start]
            var hasSingle = false
            var node = 0
            var end = start
            while end < n, let next = children[node][s[end].value] {
                node = Int(next)
                end += 1
                let id = terminal[node]
                guard id >= 0 else { continue }
                let candidate = scores[Int(id)] + scoreHere
                if startsAt[end] < 0 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    startsAt[end] = start
                    bestId[end] = id
                }
                if end == start + 1 { hasSingle = true }
            }
            if !hasSingle {
                let candidate = unknownScore + scoreHere
                if startsAt[start + 1] < 0 || candidate > bestScore[start + 1] {
                    bestScore[start + 1] = candidate
                    startsAt[start + 1] = start
                    bestId[start + 1] = unkId ?? -1
                }
            }
        }
        // Back from the end; runs of unknown characters fuse into one string.
        var strings: [Range<Int>] = []
        var end = n
        var unknownRun: Range<Int>? = nil
        while end > 0 {
            let start = startsAt[end]
            if let unkId, bestId[end] == unkId {
                unknownRun = start..<(unknownRun?.upperBound ?? end)
            } else {
                if let run = unknownRun { strings.append(run) }
                unknownRun = nil
                strings.append(start..<end)
            }
            end = start
        }
        if let run = unknownRun { strings.append(run) }
        for range in strings.reversed() {
            let value = Array(s[range])
            if let id = ids[String(String.UnicodeScalarView(value))] {
                out.append((id, range, value))
                continue
            }
            if byteFallback {
                let bytes = Array(String(String.UnicodeScalarView(value)).utf8)
                if bytes.allSatisfy({ byteIds[Int($0)] >= 0 }) {
                    for b in bytes {
                        out.append((byteIds[Int(b)], range, Array(Self.byteToken(b).unicodeScalars)))
                    }
                    continue
                }
            }
            out.append((unkId ?? 0, range, value))
        }
    }
}
