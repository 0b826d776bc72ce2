import Foundation

/// The `pre_tokenizer` of a SentencePiece-style `tokenizer.json`: `Metaspace` (spaces become
/// `replacement`, `▁`; a `▁` put before the text by `prepend_scheme`; split before each run of
/// `▁`), `WhitespaceSplit`, and a `Sequence` of them, as `tokenizers` runs them.
indirect enum SentencePiecePreTokenizer: Sendable {
    case sequence([SentencePiecePreTokenizer])
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)
    case whitespaceSplit

    enum PrependScheme: String, Sendable { case always, first, never }

    /// The pieces `pieces` become.
    func split(_ pieces: [AlignedText]) -> [AlignedText] {
        switch self {
        case .sequence(let list):
            return list.reduce(pieces) { $1.split($0) }
        case .whitespaceSplit:
            return pieces.flatMap { piece in
                piece.splitRanges(.removed) { $0.properties.isWhitespace }.map { piece.slice($0) }
            }
        case .metaspace(let replacement, let prepend, let split):
            return pieces.flatMap { piece -> [AlignedText] in
                var text = piece
                for k in text.scalars.indices where text.scalars[k] == " " { text.scalars[k] = replacement }
                let prependHere: Bool
                switch prepend {
                case .always: prependHere = true
                case .first: prependHere = text.originalStart == 0
                case .never: prependHere = false
                }
                // `NormalizedString::prepend`: the replacement takes the first character's place and
                // alignment, and that character is inserted after it with the same alignment.
                if prependHere, let first = text.scalars.first, first != replacement {
                    text.transform(0..<1, [(replacement, 0), (first, 1)])
                }
                guard split else { return text.isEmpty ? [] : [text] }
                return text.splitRanges(.mergedWithNext) { $0 == replacement }.map { text.slice($0) }
            }
        }
    }

    /// Reads a `pre_tokenizer` object.
    /// - Throws: ``BPETokenizerError`` naming `file` and a pre-tokenizer it cannot reproduce.
    static func read(_ value: Any?, file: String) throws -> SentencePiecePreTokenizer {
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw BPETokenizerError.unsupportedPreTokenizer(source: file, name: TokenizerJSONFile.typeName(value))
        }
        switch type {
        case "Sequence":
            guard let list = object["pretokenizers"] as? [Any] else { throw fail("pre_tokenizer Sequence has no pretokenizers array") }
            return .sequence(try list.map { try read($0, file: file) })
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Metaspace":
            let string = (object["replacement"] as? String) ?? "▁"
            guard string.unicodeScalars.count == 1, let replacement = string.unicodeScalars.first else {
                throw fail("pre_tokenizer Metaspace replacement \"\(string)\" is not one character")
            }
            let scheme: PrependScheme
            if let name = object["prepend_scheme"] as? String {
                guard let s = PrependScheme(rawValue: name) else {
                    throw fail("pre_tokenizer Metaspace prepend_scheme \"\(name)\" is not always, first or never")
                }
                scheme = s
            } else {
                // Files older than tokenizers 0.14 say add_prefix_space.
                scheme = ((object["add_prefix_space"] as? Bool) ?? true) ? .always : .never
            }
            return .metaspace(replacement: replacement, prepend: scheme, split: (object["split"] as? Bool) ?? true)
        default:
            throw BPETokenizerError.unsupportedSetting(
                source: file, setting: "pre_tokenizer \(type) for a Unigram model (supported: Metaspace, WhitespaceSplit, Sequence of them)")
        }
    }
}
