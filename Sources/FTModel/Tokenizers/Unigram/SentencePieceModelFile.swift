import Foundation

/// The parts of a SentencePiece `ModelProto` (`sentencepiece.bpe.model`, XLM-RoBERTa's) that a
/// Unigram tokenizer needs, read from its protobuf wire format: the pieces (`pieces`: piece = 1,
/// score = 2, type = 3), the trainer's model type (`trainer_spec.model_type` = 3, 1 = Unigram) and
/// `byte_fallback` (35), and the normaliser's `precompiled_charsmap` (`normalizer_spec` = 3,
/// field 2). Other fields are skipped.
struct SentencePieceModelFile {
    var pieces: [(piece: String, score: Float, type: Int)] = []
    var modelType = 1
    var byteFallback = false
    var precompiledCharsmap: [UInt8] = []

    /// - Throws: ``BPETokenizerError/invalidFile(path:reason:)`` naming `path` when the bytes are
    ///   not a well-formed message.
    init(contentsOf url: URL) throws {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BPETokenizerError.invalidFile(path: path, reason: "missing or unreadable")
        }
        let bytes = [UInt8](data)
        do {
            try Self.fields(bytes, 0..<bytes.count) { field, value in
                switch (field, value) {
                case (1, .bytes(let r)):
                    var piece = "", score: Float = 0, type = 1
                    try Self.fields(bytes, r) { f, v in
                        switch (f, v) {
                        case (1, .bytes(let s)):
                            guard let text = String(validating: bytes[s], as: UTF8.self) else { throw WireError("a piece is not UTF-8") }
                            piece = text
                        case (2, .fixed32(let bits)): score = Float(bitPattern: bits)
                        case (3, .varint(let t)): type = Int(truncatingIfNeeded: t)
                        default: break
                        }
                    }
                    pieces.append((piece, score, type))
                case (2, .bytes(let r)):
                    try Self.fields(bytes, r) { f, v in
                        if f == 3, case .varint(let t) = v { modelType = Int(truncatingIfNeeded: t) }
                        if f == 35, case .varint(let b) = v { byteFallback = b != 0 }
                    }
                case (3, .bytes(let r)):
                    try Self.fields(bytes, r) { f, v in
                        if f == 2, case .bytes(let s) = v { precompiledCharsmap = Array(bytes[s]) }
                    }
                default: break
                }
            }
        } catch let error as WireError {
            throw BPETokenizerError.invalidFile(path: path, reason: "not a SentencePiece model (\(error.message))")
        }
        guard !pieces.isEmpty else { throw BPETokenizerError.invalidFile(path: path, reason: "a SentencePiece model without pieces") }
    }

    struct WireError: Error {
        let message: String
        init(_ m: String) { message = m }
    }

    enum Value { case varint(UInt64), fixed32(UInt32), fixed64, bytes(Range<Int>) }

    /// Calls `body` with each field of the message in `bytes[range]`.
    static func fields(_ bytes: [UInt8], _ range: Range<Int>, _ body: (Int, Value) throws -> Void) throws {
        var i = range.lowerBound
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < range.upperBound, shift < 64 else { throw WireError("a truncated varint at byte \(i)") }
                let b = bytes[i]
                i += 1
                result |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }
        while i < range.upperBound {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: try body(field, .varint(try varint()))
            case 1:
                guard i + 8 <= range.upperBound else { throw WireError("a truncated 64-bit field at byte \(i)") }
                i += 8
                try body(field, .fixed64)
            case 2:
                let length = try varint()
                guard length <= UInt64(range.upperBound - i) else { throw WireError("field \(field) runs past the end at byte \(i)") }
                let r = i..<(i + Int(length))
                i += Int(length)
                try body(field, .bytes(r))
            case 5:
                guard i + 4 <= range.upperBound else { throw WireError("a truncated 32-bit field at byte \(i)") }
                let bits = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
                i += 4
                try body(field, .fixed32(bits))
            default:
                throw WireError("wire type \(key & 7) of field \(field) at byte \(i)")
            }
        }
    }
}

extension UnigramTokenizer {
    /// XLM-RoBERTa's tokenizer from its `sentencepiece.bpe.model` alone, built as transformers
    /// converts it (`XLMRobertaConverter` + transformers 5's `XLMRobertaTokenizer`): fairseq's ids —
    /// `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, the model's pieces after its own first three
    /// (`<unk>`, `<s>`, `</s>`), `<mask>` last —, the model's `Precompiled` charsmap,
    /// `WhitespaceSplit` + `Metaspace` (always), `<s> A </s>` / `<s> A </s></s> B </s>`.
    /// - Throws: ``BPETokenizerError`` naming the file when it is not a Unigram SentencePiece model.
    public static func load(xlmRobertaSentencePieceModel url: URL) throws -> UnigramTokenizer {
        let file = try SentencePieceModelFile(contentsOf: url)
        guard file.modelType == 1 else {
            throw BPETokenizerError.unsupportedSetting(source: url.path, setting: "SentencePiece model type \(file.modelType) (Unigram is 1)")
        }
        guard file.pieces.count > 3 else { throw BPETokenizerError.invalidFile(path: url.path, reason: "only \(file.pieces.count) pieces") }
        let specials = ["<s>", "<pad>", "</s>", "<unk>"]
        let pieces = specials + file.pieces[3...].map { $0.piece } + ["<mask>"]
        let scores = [Double](repeating: 0, count: 4) + file.pieces[3...].map { Double($0.score) } + [0]
        let model = UnigramModel(pieces: pieces, scores: scores, unkId: 3, byteFallback: file.byteFallback)
        var normalizer: TextNormalizer? = nil
        if !file.precompiledCharsmap.isEmpty {
            do {
                normalizer = .precompiled(try PrecompiledCharsmap(file.precompiledCharsmap))
            } catch let error as PrecompiledCharsmap.CharsmapError {
                throw BPETokenizerError.invalidFile(path: url.path, reason: error.message)
            }
        }
        let added = (specials + ["<mask>"]).enumerated().map { i, t in
            BPEAddedToken(id: i == 4 ? Int32(pieces.count - 1) : Int32(i), content: t, special: true)
        }
        return UnigramTokenizer(
            model: model, addedTokens: added, normalizer: normalizer,
            preTokenizer: .sequence([.whitespaceSplit, .metaspace(replacement: "▁", prepend: .always, split: true)]),
            template: .roberta(cls: 0, sep: 2, trimOffsets: false, addPrefixSpace: true), padTokenId: 1, maskTokenId: Int32(pieces.count - 1))
    }
}
