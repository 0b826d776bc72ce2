import FTModel
import FTTrain
import Foundation

/// `predict` on the per-token heads — a QA model's answers and a token classifier's entities — for
/// one model directory or for each adapter of an `AdapterSet` (`--adapter` of `QUESTION_ANS` or
/// `TOKEN_CLS` adapters over the base model): one JSON line per input, and per adapter when there
/// are several (with an `"adapter"` key), as sequence classifiers print them.
extension PredictCommand {
    /// The (question, context) pairs of `--input`: a CSV/TSV/JSONL file with columns `question`
    /// and `context` unless --text-column/--text-pair-column name others.
    func readQuestionPairs() throws -> [(question: String, context: String)] {
        guard let input, let format = DataFormat.inferred(fromPath: input) else {
            throw CLIError("a question-answering model needs --input FILE (.csv, .tsv or .jsonl) with question and context columns")
        }
        let pairs = try DataReader.readTexts(
            input, format: format, textColumn: textColumn == "text" ? "question" : textColumn, textPairColumn: textPairColumn ?? "context",
            cleaning: .none)  // offsets index the context as given
        return pairs.map { ($0.text, $0.pair ?? "") }
    }

    /// The answer object of every pair (`PredictedAnswer.json`), decoded with the command's settings.
    func answerObjects(
        pairs: [(question: String, context: String)], model: any SequenceModel, tokenizer: any EncoderTokenizer
    ) throws -> [[String: Any]] {
        let length = min(inference.maxLength, model.maxSequenceLength)
        return try AnswerPrediction.answer(
            pairs: pairs, model: model, tokenizer: tokenizer, maxLength: length, docStride: docStride ?? min(128, length / 3),
            decoding: AnswerDecoding(
                nBestSize: nBestSize, maxAnswerLength: maxAnswerLength, versionTwoWithNegative: versionTwoWithNegative,
                nullScoreDifferenceThreshold: nullScoreDiffThreshold),
            batchSize: inference.batchSize
        ).map(\.json)
    }

    /// The entity object of every text (`{"entities": […]}`, with `"words"` under --words).
    func entityObjects(
        texts: [String], model: any SequenceModel, tokenizer: any EncoderTokenizer, labels: [String]
    ) throws -> [[String: Any]] {
        let results = try EntityPrediction.predictWords(
            texts: texts, model: model, tokenizer: tokenizer, labels: labels,
            maxLength: min(inference.maxLength, model.maxSequenceLength), batchSize: inference.batchSize)
        return results.map { found in
            var object: [String: Any] = ["entities": found.entities.map(\.json)]
            if words {
                object["words"] = found.words.map {
                    ["label": $0.type, "start": $0.start, "end": $0.end, "text": $0.text, "score": Double($0.score)]
                }
            }
            return object
        }
    }

    /// Every adapter of `set` (a QA or token-classification head) in turn over all the inputs:
    /// answers or entities, one line per input and adapter.
    func printPerTokenAdapters(set: AdapterSet, tokenizer: any EncoderTokenizer) throws {
        var results: [(name: String, objects: [[String: Any]])] = []
        if set.head == .questionAnswering {
            let pairs = try readQuestionPairs()
            for name in set.names {
                try set.activate(name)
                results.append((name, try answerObjects(pairs: pairs, model: set.model, tokenizer: tokenizer)))
            }
        } else {
            let texts = try readTexts().map(\.text)
            for name in set.names {
                try set.activate(name)
                let labels = try set.labels(of: name, baseModelDirectory: model.url)
                results.append((name, try entityObjects(texts: texts, model: set.model, tokenizer: tokenizer, labels: labels)))
            }
        }
        var lines: [[String: Any]] = []
        for i in 0..<(results.first?.objects.count ?? 0) {
            for (name, objects) in results {
                var object = objects[i]
                if results.count > 1 { object["adapter"] = name }
                lines.append(object)
            }
        }
        try printJSONLines(lines)
    }

    /// One sorted-key JSON object per line, printed in chunks.
    func printJSONLines(_ objects: [[String: Any]]) throws {
        var output = ""
        for object in objects {
            let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            output += String(decoding: line, as: UTF8.self) + "\n"
            if output.utf8.count > 1 << 16 {
                print(output, terminator: "")
                output = ""
            }
        }
        print(output, terminator: "")
    }
}
