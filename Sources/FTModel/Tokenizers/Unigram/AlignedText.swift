import Foundation

/// Text being normalised, with each character's range in the original input: Hugging Face
/// `tokenizers`' `NormalizedString`, in Unicode scalars instead of bytes (every alignment there is
/// a whole character's bytes, so the two agree). Normalizers and pre-tokenizers rewrite it with
/// ``transform(_:_:removingFirst:)``, which is `transform_range`; a token's offsets in the input
/// are ``originalRange(_:)`` of its characters.
struct AlignedText: Sendable {
    /// The normalised characters.
    var scalars: [Unicode.Scalar]
    /// `alignments[k]`: the range of input scalars that `scalars[k]` came from. [scalars.count]
    var alignments: [(start: Int, end: Int)]
    /// Where this text starts in the input (`offsets_original().0`), even when normalising removed
    /// its first characters.
    var originalStart: Int

    /// `scalars` taken unchanged from the input at `offset`.
    init(_ scalars: ArraySlice<Unicode.Scalar>, offset: Int) {
        self.scalars = Array(scalars)
        alignments = (0..<scalars.count).map { (offset + $0, offset + $0 + 1) }
        originalStart = offset
    }

    init(scalars: [Unicode.Scalar], alignments: [(start: Int, end: Int)], originalStart: Int) {
        self.scalars = scalars
        self.alignments = alignments
        self.originalStart = originalStart
    }

    var count: Int { scalars.count }
    var isEmpty: Bool { scalars.isEmpty }

    /// `NormalizedString::transform_range`: the characters in `range` become `items`, each with its
    /// change — 0 replaces the next old character (and takes its alignment), 1 is inserted (and
    /// takes the alignment of the old character before it), −n replaces the next old character and
    /// removes the n after it. The first `removingFirst` old characters are removed up front.
    mutating func transform(_ range: Range<Int>, _ items: [(Unicode.Scalar, Int)], removingFirst: Int = 0) {
        var newScalars: [Unicode.Scalar] = []
        var newAlignments: [(start: Int, end: Int)] = []
        newScalars.reserveCapacity(items.count)
        newAlignments.reserveCapacity(items.count)
        var old = range.lowerBound + removingFirst
        for (c, change) in items {
            let align: (start: Int, end: Int)
            if change > 0 {
                // An inserted character shares the alignment of the one before it ((0, 0) at the start).
                align = old < 1 ? (originalStart, originalStart) : alignments[old - 1]
            } else {
                align = old < alignments.count ? alignments[old] : (alignments.last ?? (originalStart, originalStart))
                old += 1 - change
            }
            newScalars.append(c)
            newAlignments.append(align)
        }
        scalars.replaceSubrange(range, with: newScalars)
        alignments.replaceSubrange(range, with: newAlignments)
    }

    /// `NormalizedString::replace`: each match of `pattern` (in order, not overlapping) becomes
    /// `content`, every new character inserted after the match is removed (so it takes the
    /// alignment of the match's last character).
    mutating func replace(matches: [Range<Int>], with content: [Unicode.Scalar]) {
        for match in matches.reversed() {
            transform(match, content.map { ($0, 1) }, removingFirst: match.count)
        }
    }

    /// The input range of characters `range` (`convert_offsets` from normalised to original).
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        guard !range.isEmpty else {
            let at = range.lowerBound < alignments.count ? alignments[range.lowerBound].start : (alignments.last?.end ?? originalStart)
            return at..<at
        }
        return alignments[range.lowerBound].start..<alignments[range.upperBound - 1].end
    }

    /// The characters of `range` as their own text (`NormalizedString::slice`).
    func slice(_ range: Range<Int>) -> AlignedText {
        AlignedText(
            scalars: Array(scalars[range]), alignments: Array(alignments[range]), originalStart: originalRange(range).lowerBound)
    }

    /// Ranges of the non-empty pieces `behavior` leaves when each character where `isDelimiter`
    /// holds is a delimiter (tokenizers' `split` with a character pattern: each delimiter matches
    /// alone, each run of other characters is one stretch).
    func splitRanges(_ behavior: SplitBehavior, isDelimiter: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        // The matches: (range, isMatch), in order.
        var matches: [(Range<Int>, Bool)] = []
        var start = 0
        for (i, c) in scalars.enumerated() where isDelimiter(c) {
            if start < i { matches.append((start..<i, false)) }
            matches.append((i..<i + 1, true))
            start = i + 1
        }
        if start < scalars.count { matches.append((start..<scalars.count, false)) }
        var pieces: [Range<Int>] = []
        switch behavior {
        case .removed:
            pieces = matches.filter { !$0.1 }.map { $0.0 }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in matches {
                if isMatch && !previousMatch {
                    pieces.append(range)
                } else if let last = pieces.last {
                    pieces[pieces.count - 1] = last.lowerBound..<range.upperBound
                } else {
                    pieces.append(range)
                }
                previousMatch = isMatch
            }
        }
        return pieces.filter { !$0.isEmpty }
    }

    enum SplitBehavior { case removed, mergedWithNext }
}
