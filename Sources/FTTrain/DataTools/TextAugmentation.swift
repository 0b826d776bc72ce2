import FTCore
import Foundation

/// Easy Data Augmentation (Wei & Zou, 2019): synonym replacement, random insertion, random swap
/// and random deletion, on words (split at whitespace, joined with one space) or, for Chinese, on
/// characters or on the words of a user word list (joined with nothing). Every draw comes from a ``SeededRNG`` through
/// ``SeededShuffle``, so the same seed gives the same text on every machine.
public struct TextAugmentation: Sendable {
    /// The four EDA operations.
    public enum Operation: String, Sendable, CaseIterable, Codable {
        case synonymReplacement = "synonym_replacement"
        case randomInsertion = "random_insertion"
        case randomSwap = "random_swap"
        case randomDeletion = "random_deletion"
    }

    /// What an edit works on.
    public enum Unit: String, Sendable, CaseIterable {
        /// Whitespace-separated words; Chinese text, with a word list, the list's words.
        case word
        /// Characters (whitespace dropped): for Chinese, which has no spaces.
        case char
        /// Text holding a Han ideograph: its words with a word list, else its characters; other text: `word`.
        case auto
    }

    /// Fraction of the units each operation touches: n = max(1, round(rate × units)) replacements,
    /// insertions or swaps; deletion removes each unit with probability `rate`. A zero rate turns the
    /// operation off.
    public var rates: [Operation: Double]
    public var unit: Unit
    /// unit → its synonyms (each group of the synonym file maps every member to the others).
    public let synonyms: [String: [String]]
    /// Chinese words (`readWords`): text holding Han ideographs is cut into them by forward maximum
    /// matching (the longest listed word at each position; a character no word starts with stays
    /// alone) under `word` and `auto`. Empty: Han text is edited on characters.
    public let words: Set<String>
    /// The longest word of `words`, in characters.
    private let longestWord: Int

    public init(rates: [Operation: Double], unit: Unit = .auto, synonyms: [String: [String]] = [:], words: Set<String> = []) {
        self.rates = rates
        self.unit = unit
        self.synonyms = synonyms
        self.words = words
        self.longestWord = words.map(\.count).max() ?? 0
    }

    /// Reads a word list: words separated by newlines or whitespace (jieba's dictionary format,
    /// `word [frequency [tag]]`, is read as its first column); `#` lines and blank lines ignored.
    public static func readWords(_ path: String) throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError.invalidUTF8(path: path, line: 1) }
        var words: Set<String> = []
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if let first = trimmed.split(whereSeparator: \.isWhitespace).first { words.insert(String(first)) }
        }
        guard !words.isEmpty else { throw DataToolError.invalidArgument("\(path): the word list holds no words") }
        return words
    }

    /// `text` without whitespace cut into the longest listed words, left to right.
    func segment(_ text: String) -> [String] {
        let characters = Array(text.filter { !$0.isWhitespace })
        var out: [String] = []
        var i = 0
        while i < characters.count {
            var length = min(longestWord, characters.count - i)
            while length > 1 && !words.contains(String(characters[i..<(i + length)])) { length -= 1 }
            out.append(String(characters[i..<(i + max(length, 1))]))
            i += max(length, 1)
        }
        return out
    }

    /// The operations with a positive rate, in ``Operation/allCases`` order.
    public var enabled: [Operation] { Operation.allCases.filter { (rates[$0] ?? 0) > 0 } }

    /// Reads a synonym file: one group per line, members separated by commas or whitespace
    /// (`good, great, fine`); `#` lines and blank lines ignored. A group of one is an error.
    public static func readSynonyms(_ path: String) throws -> [String: [String]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError.invalidUTF8(path: path, line: 1) }
        var table: [String: [String]] = [:]
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let group = trimmed.split(whereSeparator: { $0 == "," || $0 == "，" || $0.isWhitespace }).map(String.init)
            guard group.count >= 2 else {
                throw DataToolError.invalidRow(path: path, line: n + 1, reason: "a synonym group needs at least two words, found \"\(trimmed)\"")
            }
            for word in group {
                for other in group where other != word && !(table[word]?.contains(other) ?? false) { table[word, default: []].append(other) }
            }
        }
        return table
    }

    /// The units of `text` and the separator that joins them back.
    public func units(of text: String) -> (units: [String], separator: String) {
        let han = text.unicodeScalars.contains(where: Scalars.isHan)
        if han && unit != .char && !words.isEmpty { return (segment(text), "") }
        let useChars = unit == .char || (unit == .auto && han)
        if useChars { return (text.filter { !$0.isWhitespace }.map(String.init), "") }
        return (text.split(whereSeparator: \.isWhitespace).map(String.init), " ")
    }

    /// `text` changed by `operation`.
    public func apply(_ operation: Operation, to text: String, using rng: inout SeededRNG) -> String {
        let (units, separator) = self.units(of: text)
        return apply(operation, units: units, using: &rng).joined(separator: separator)
    }

    func apply(_ operation: Operation, units: [String], using rng: inout SeededRNG) -> [String] {
        guard !units.isEmpty else { return units }
        let rate = rates[operation] ?? 0
        let n = max(1, Int((rate * Double(units.count)).rounded()))
        var out = units
        switch operation {
        case .synonymReplacement:
            // n distinct positions, in random order among those with synonyms.
            var positions = out.indices.filter { synonyms[out[$0]] != nil }
            SeededShuffle.shuffle(&positions, using: &rng)
            for p in positions.prefix(n) {
                let choices = synonyms[out[p]]!
                out[p] = choices[SeededShuffle.index(below: choices.count, using: &rng)]
            }
        case .randomInsertion:
            for _ in 0..<n {
                let candidates = out.filter { synonyms[$0] != nil }
                guard !candidates.isEmpty else { break }
                let word = candidates[SeededShuffle.index(below: candidates.count, using: &rng)]
                let choices = synonyms[word]!
                let synonym = choices[SeededShuffle.index(below: choices.count, using: &rng)]
                out.insert(synonym, at: SeededShuffle.index(below: out.count + 1, using: &rng))
            }
        case .randomSwap:
            guard out.count >= 2 else { break }
            for _ in 0..<n {
                let i = SeededShuffle.index(below: out.count, using: &rng)
                var j = SeededShuffle.index(below: out.count - 1, using: &rng)
                if j >= i { j += 1 }
                out.swapAt(i, j)
            }
        case .randomDeletion:
            guard out.count > 1 else { break }
            // One 53-bit uniform draw per unit; at least one unit always survives.
            let kept = out.filter { _ in Double(rngNext(&rng) >> 11) / Double(1 << 53) >= rate }
            out = kept.isEmpty ? [out[SeededShuffle.index(below: out.count, using: &rng)]] : kept
        }
        return out
    }

    private func rngNext(_ rng: inout SeededRNG) -> UInt64 { rng.next() }

    /// `count` augmented copies of `text`, each made by one enabled operation in turn (copy i uses
    /// operation (firstOperation + i) mod the number enabled); copies equal to the original or to an
    /// earlier copy are still returned, so the count is exact.
    public func augment(
        _ text: String, count: Int, firstOperation: Int = 0, using rng: inout SeededRNG
    ) -> [(operation: Operation, text: String)] {
        let ops = enabled
        guard !ops.isEmpty else { return [] }
        return (0..<count).map { i in
            let op = ops[(firstOperation + i) % ops.count]
            return (op, apply(op, to: text, using: &rng))
        }
    }
}
