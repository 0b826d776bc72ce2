import Foundation

/// How a `tokenizer.json` `post_processor` lays out one sequence or a pair with special tokens
/// and token types: `TemplateProcessing` (its `single` and `pair` pieces and `special_tokens`) or
/// `RobertaProcessing` (`<s> A </s>` and `<s> A </s></s> B </s>`, types 0, `trim_offsets`).
public struct PostProcessorTemplate: Sendable, Equatable {
    /// One piece of a template: special token ids with a type, or sequence A (0) / B (1).
    public enum Piece: Sendable, Equatable {
        case special(ids: [Int32], typeId: Int32)
        case sequence(Int, typeId: Int32)
    }

    public var single: [Piece]
    public var pair: [Piece]
    /// `RobertaProcessing`'s `trim_offsets`: a token's leading and trailing spaces leave its offsets.
    public var trimOffsets: Bool
    /// `RobertaProcessing`'s `add_prefix_space` (only changes trimming of the first token).
    public var addPrefixSpace: Bool

    /// Number of special tokens the template adds (what truncation leaves room for).
    public func addedCount(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, piece in
            if case .special(let ids, _) = piece { return n + ids.count }
            return n
        }
    }

    /// XLM-R's and RoBERTa's layout around `cls` and `sep`.
    public static func roberta(cls: Int32, sep: Int32, trimOffsets: Bool, addPrefixSpace: Bool) -> PostProcessorTemplate {
        PostProcessorTemplate(
            single: [.special(ids: [cls], typeId: 0), .sequence(0, typeId: 0), .special(ids: [sep], typeId: 0)],
            pair: [
                .special(ids: [cls], typeId: 0), .sequence(0, typeId: 0), .special(ids: [sep], typeId: 0),
                .special(ids: [sep], typeId: 0), .sequence(1, typeId: 0), .special(ids: [sep], typeId: 0),
            ],
            trimOffsets: trimOffsets, addPrefixSpace: addPrefixSpace)
    }

    /// Reads a `post_processor` object.
    /// - Throws: ``BPETokenizerError`` naming `file` and what it cannot reproduce.
    static func read(_ value: Any?, file: String) throws -> PostProcessorTemplate {
        func fail(_ reason: String) -> BPETokenizerError { .invalidFile(path: file, reason: reason) }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw BPETokenizerError.unsupportedSetting(
                source: file, setting: "post_processor \(TokenizerJSONFile.typeName(value)) (supported: TemplateProcessing, RobertaProcessing)")
        }
        switch type {
        case "RobertaProcessing":
            func special(_ key: String) throws -> Int32 {
                guard let pair = object[key] as? [Any], pair.count == 2, let id = (pair[1] as? NSNumber)?.int32Value else {
                    throw fail("post_processor.\(key) is not [token, id]")
                }
                return id
            }
            return .roberta(
                cls: try special("cls"), sep: try special("sep"), trimOffsets: (object["trim_offsets"] as? Bool) ?? true,
                addPrefixSpace: (object["add_prefix_space"] as? Bool) ?? true)
        case "TemplateProcessing":
            var specials: [String: [Int32]] = [:]
            for (name, entry) in (object["special_tokens"] as? [String: Any]) ?? [:] {
                guard let ids = (entry as? [String: Any])?["ids"] as? [Any] else {
                    throw fail("post_processor.special_tokens[\"\(name)\"] has no ids")
                }
                specials[name] = try ids.map {
                    guard let id = ($0 as? NSNumber)?.int32Value else {
                        throw fail("post_processor.special_tokens[\"\(name)\"].ids holds a non-number")
                    }
                    return id
                }
            }
            func pieces(_ key: String) throws -> [Piece] {
                guard let list = object[key] as? [Any] else { throw fail("post_processor TemplateProcessing has no \(key) template") }
                return try list.enumerated().map { (i, item) throws -> Piece in
                    let entry = item as? [String: Any]
                    if let s = entry?["SpecialToken"] as? [String: Any], let name = s["id"] as? String {
                        guard let ids = specials[name] else { throw fail("post_processor.\(key)[\(i)] names \"\(name)\", not in special_tokens") }
                        return .special(ids: ids, typeId: (s["type_id"] as? NSNumber)?.int32Value ?? 0)
                    }
                    if let s = entry?["Sequence"] as? [String: Any], let name = s["id"] as? String, name == "A" || name == "B" {
                        return .sequence(name == "A" ? 0 : 1, typeId: (s["type_id"] as? NSNumber)?.int32Value ?? 0)
                    }
                    throw fail("post_processor.\(key)[\(i)] is neither a SpecialToken nor Sequence A/B")
                }
            }
            return PostProcessorTemplate(single: try pieces("single"), pair: try pieces("pair"), trimOffsets: false, addPrefixSpace: false)
        default:
            throw BPETokenizerError.unsupportedSetting(
                source: file, setting: "post_processor \(type) for a Unigram model (supported: TemplateProcessing, RobertaProcessing)")
        }
    }
}
