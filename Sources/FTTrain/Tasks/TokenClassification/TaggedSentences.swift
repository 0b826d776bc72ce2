import Foundation

/// A sentence of a sequence-labelling file: its tokens (words, or characters for Chinese) and one
/// tag per token, with where it came from.
public struct TaggedSentence: Sendable, Equatable {
    public var tokens: [String]
    public var tags: [String]
    public var location: SourceLocation

    public init(tokens: [String], tags: [String], location: SourceLocation) {
        self.tokens = tokens
        self.tags = tags
        self.location = location
    }
}

/// The tagging scheme of a sequence-labelling file: which prefixes a tag may carry.
public enum TagScheme: String, Sendable, CaseIterable {
    /// `B-TYPE`, `I-TYPE`, `O` (IOB2).
    case bio = "BIO"
    /// `B-`, `I-`, `E-`, `S-` and `O` (also called BILOU with L→E, U→S).
    case bioes = "BIOES"

    var prefixes: [Character] { self == .bio ? ["B", "I"] : ["B", "I", "E", "S"] }

    /// Why `tag` is no tag of this scheme, or nil when it is one.
    func problem(with tag: String) -> String? {
        if tag == "O" { return nil }
        guard let first = tag.first, tag.dropFirst().first == "-", tag.count > 2 else {
            return "tag \"\(tag)\" is not O nor PREFIX-TYPE (\(rawValue): \(prefixes.map { "\($0)-" }.joined(separator: ", ")))"
        }
        guard prefixes.contains(first) else {
            return "tag \"\(tag)\" has prefix \(first)-, which \(rawValue) does not use (\(prefixes.map { "\($0)-" }.joined(separator: ", ")))"
        }
        return nil
    }
}

/// Reads sequence-labelling files: CoNLL style (`.conll`, `.txt`, `.bio`, `.iob`: one token and
/// its tag per line separated by whitespace — the tag is the last field —, a blank line between
/// sentences, `-DOCSTART-` lines skipped) or JSON Lines (`.jsonl`: `{"tokens": [...], "tags":
/// [...]}` per line, the keys configurable). Every malformed line or tag outside the scheme is an
/// error naming the file and line.
public enum TaggedSentences {
    /// Reads `path`; `scheme` checks every tag.
    /// - Throws: `DataError` naming the file (and line) of the problem.
    public static func read(
        _ path: String, scheme: TagScheme, tokensKey: String = "tokens", tagsKey: String = "tags"
    ) throws -> [TaggedSentence] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "not a readable file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError.invalidUTF8(path: path, line: firstBadLine(data)) }
        let sentences: [TaggedSentence]
        if path.lowercased().hasSuffix(".jsonl") || path.lowercased().hasSuffix(".json") {
            sentences = try readJSONLines(text, path: path, tokensKey: tokensKey, tagsKey: tagsKey)
        } else {
            sentences = try readCoNLL(text, path: path)
        }
        var bad: [BadRow] = []
        for sentence in sentences {
            for (k, tag) in sentence.tags.enumerated() {
                if let problem = scheme.problem(with: tag) {
                    // CoNLL: the line of the token; JSONL: the sentence's line.
                    let line = path.lowercased().hasSuffix(".jsonl") ? sentence.location.line : sentence.location.line + k
                    bad.append(BadRow(location: SourceLocation(file: path, line: line), reason: problem))
                    break
                }
            }
        }
        if !bad.isEmpty { throw DataError.badRows(bad) }
        if sentences.isEmpty { throw DataError.noDataRows(path: path, skipped: 0) }
        return sentences
    }

    static func firstBadLine(_ data: Data) -> Int {
        var line = 1
        for chunk in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if String(data: Data(chunk), encoding: .utf8) == nil { return line }
            line += 1
        }
        return line
    }

    /// CoNLL: `token ... tag` per line, sentences between blank lines.
    static func readCoNLL(_ text: String, path: String) throws -> [TaggedSentence] {
        var sentences: [TaggedSentence] = []
        var tokens: [String] = [], tags: [String] = [], start = 0
        var bad: [BadRow] = []
        func flush() {
            if !tokens.isEmpty { sentences.append(TaggedSentence(tokens: tokens, tags: tags, location: SourceLocation(file: path, line: start))) }
            tokens = []
            tags = []
        }
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if lineNumber == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty {
                flush()
                continue
            }
            if fields[0] == "-DOCSTART-" { continue }
            guard fields.count >= 2 else {
                bad.append(BadRow(location: SourceLocation(file: path, line: lineNumber), reason: "expected a token and its tag, found \"\(line)\""))
                continue
            }
            if tokens.isEmpty { start = lineNumber }
            tokens.append(String(fields[0]))
            tags.append(String(fields[fields.count - 1]))
        }
        flush()
        if !bad.isEmpty { throw DataError.badRows(bad) }
        return sentences
    }

    /// JSON Lines: `tokens` and `tags`, arrays of strings of the same length.
    static func readJSONLines(_ text: String, path: String, tokensKey: String, tagsKey: String) throws -> [TaggedSentence] {
        var sentences: [TaggedSentence] = []
        var bad: [BadRow] = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let location = SourceLocation(file: path, line: lineNumber)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                bad.append(BadRow(location: location, reason: "not a JSON object"))
                continue
            }
            guard let tokens = object[tokensKey] as? [String], let tags = object[tagsKey] as? [String] else {
                bad.append(BadRow(location: location, reason: "needs \"\(tokensKey)\" and \"\(tagsKey)\", arrays of strings"))
                continue
            }
            guard tokens.count == tags.count else {
                bad.append(BadRow(location: location, reason: "\(tokens.count) tokens but \(tags.count) tags"))
                continue
            }
            if tokens.isEmpty { continue }
            sentences.append(TaggedSentence(tokens: tokens, tags: tags, location: location))
        }
        if !bad.isEmpty { throw DataError.badRows(bad) }
        return sentences
    }
}
