import FTModel
import Foundation

/// One window of an example as the QA head sees it: `[CLS] question [SEP] context part [SEP]`
/// (RoBERTa: `<s> question </s></s> context part </s>`),
/// the context's characters of each token, and the training positions.
public struct QuestionAnsweringFeature: Sendable, Equatable {
    /// Index of the example the window belongs to.
    public var example: Int
    public var encoding: TokenizerEncoding
    /// Per token, the context characters `start ..< end` it covers (Unicode-scalar offsets); nil
    /// for the question and the special tokens (run_qa's validation features).
    public var offsets: [Range<Int>?]
    /// The token of the answer's first and last character; `[CLS]` (0) when the window does not
    /// hold the whole answer or the example has none.
    public var startPosition: Int
    public var endPosition: Int

    /// The per-token targets of `QuestionAnsweringObjective`: start and end bits.
    public var targets: [Int32] {
        var targets = [Int32](repeating: 0, count: encoding.count)
        targets[startPosition] |= QuestionAnsweringObjective.startBit
        targets[endPosition] |= QuestionAnsweringObjective.endBit
        return targets
    }
}

/// Hugging Face run_qa.py's preprocessing (`prepare_train_features` and
/// `prepare_validation_features`, padding on the right): the question first (leading whitespace
/// stripped), the context truncated `only_second` to `maxLength` tokens with overflowing windows
/// that overlap by `docStride` tokens, each window's offsets, and the start/end token of the
/// first gold answer — `[CLS]` for an unanswerable example or a window that does not contain the
/// whole answer. The positions follow run_qa's scan exactly, including its quirk: an answer that
/// starts in a window's last context token gets the final `[SEP]` as start.
public enum QuestionAnsweringFeatures {
    /// Why an example cannot be windowed.
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// The windows of every example, in order.
    /// - Throws: `Problem` naming the example when its question leaves no room for the context or
    ///   the stride is not below the room left.
    public static func make(
        _ examples: [SquadExample], tokenizer: any EncoderTokenizer, maxLength: Int, docStride: Int
    ) throws -> [QuestionAnsweringFeature] {
        var features: [QuestionAnsweringFeature] = []
        for (index, example) in examples.enumerated() {
            features += try make(example, index: index, tokenizer: tokenizer, maxLength: maxLength, docStride: docStride)
        }
        return features
    }

    /// The windows of one example (`index` is recorded in each).
    public static func make(
        _ example: SquadExample, index: Int, tokenizer: any EncoderTokenizer, maxLength: Int, docStride: Int
    ) throws -> [QuestionAnsweringFeature] {
        let questionText = String(example.question.drop { $0.isWhitespace })
        let question = tokenizer.encodeIds(questionText)
        let contextCount = tokenizer.encodeIds(example.context).count
        let budget = tokenizer.pairWindowRoom(firstPieces: question.count, maxLength: maxLength)
        guard budget > 0 else {
            throw Problem(
                description:
                    "\(example.location): question \"\(example.id)\" has \(question.count) tokens, which leaves no room for the context in max_length \(maxLength)"
            )
        }
        guard docStride >= 0, docStride < budget || contextCount <= budget else {
            throw Problem(
                description:
                    "\(example.location): question \"\(example.id)\": doc_stride \(docStride) must be below the \(budget) context tokens a window of max_length \(maxLength) holds with this question"
            )
        }
        let answerStart = example.answerStarts.first
        let answerEnd = answerStart.map { $0 + example.answerTexts[0].unicodeScalars.count }
        // tokenizers' overflow: windows of `budget` tokens starting every `budget − stride`, until one reaches the end.
        return tokenizer.encodePairWindows(questionText, example.context, maxLength: maxLength, stride: docStride).map { window in
            // run_qa's validation features: offsets of the context's tokens only.
            let offsets = zip(window.offsets, window.sequenceIds).map { $1 == 1 ? $0 : nil }
            let contextStart = window.sequenceIds.firstIndex { $0 == 1 } ?? offsets.count
            let contextCount = window.secondPieces.count
            var startPosition = 0, endPosition = 0
            if let answerStart, let answerEnd, contextCount > 0 {
                // run_qa: offsets of every token, (0, 0) for the special ones and the question's own.
                func first(_ k: Int) -> Int { offsets[k]?.lowerBound ?? 0 }
                func last(_ k: Int) -> Int { offsets[k]?.upperBound ?? 0 }
                var s = contextStart, e = contextStart + contextCount - 1
                if first(s) <= answerStart && last(e) >= answerEnd {
                    while s < offsets.count && first(s) <= answerStart { s += 1 }
                    startPosition = s - 1
                    while last(e) >= answerEnd { e -= 1 }
                    endPosition = e + 1
                }
            }
            return QuestionAnsweringFeature(
                example: index, encoding: window.encoding, offsets: offsets, startPosition: startPosition, endPosition: endPosition)
        }
    }
}
