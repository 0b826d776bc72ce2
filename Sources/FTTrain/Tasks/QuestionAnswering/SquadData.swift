import Foundation

/// One extractive-QA example in SQuAD's shape: a question about a context and its gold answers,
/// each a text and the Unicode-scalar offset where it starts in the context (Python's `str`
/// index, what SQuAD's `answer_start` counts). No answers: unanswerable (SQuAD v2).
public struct SquadExample: Sendable, Equatable {
    public var id: String
    public var question: String
    public var context: String
    public var answerTexts: [String]
    public var answerStarts: [Int]
    public var location: SourceLocation

    public init(id: String, question: String, context: String, answerTexts: [String], answerStarts: [Int], location: SourceLocation) {
        self.id = id
        self.question = question
        self.context = context
        self.answerTexts = answerTexts
        self.answerStarts = answerStarts
        self.location = location
    }

    public var isAnswerable: Bool { !answerTexts.isEmpty }

    /// The flat JSON object (Hugging Face `datasets`' `squad` rows), as `data/*.jsonl` holds it.
    public var jsonObject: [String: Any] {
        ["id": id, "question": question, "context": context, "answers": ["text": answerTexts, "answer_start": answerStarts]]
    }
}

/// Reads SQuAD v1.1/v2.0 files: the official nested JSON (`{"data": [{"title", "paragraphs":
/// [{"context", "qas": [{"id", "question", "answers": [{"text", "answer_start"}],
/// "is_impossible"}]}]}]}`), a JSON document whose `data` holds flat rows, or JSON Lines of flat
/// rows as Hugging Face `datasets` writes them (`{"id", "question", "context", "answers":
/// {"text": [...], "answer_start": [...]}}`). Every malformed record is an error naming the file
/// and the record (the line for JSON Lines, the `data` path for JSON).
public enum SquadData {
    /// - Throws: `DataError` naming the file and the records that are not QA examples.
    public static func read(_ path: String) throws -> [SquadExample] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError.unreadable(path: path, reason: "not a readable file") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.invalidUTF8(path: path, line: TaggedSentences.firstBadLine(data))
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DataError.emptyFile(path: path) }
        var examples: [SquadExample] = []
        var bad: [BadRow] = []
        let isLines = path.lowercased().hasSuffix(".jsonl")
        if isLines {
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
                do { examples.append(try flat(object, location: location)) } catch let problem as Problem {
                    bad.append(BadRow(location: location, reason: problem.message))
                }
            }
        } else {
            guard let document = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let entries = document["data"] as? [[String: Any]]
            else {
                throw DataError.badRows([
                    BadRow(
                        location: SourceLocation(file: path, line: 1),
                        reason: "not a SQuAD JSON document (an object whose \"data\" is an array); name JSON Lines files .jsonl")
                ])
            }
            for (d, entry) in entries.enumerated() {
                // The record's place in the document stands in for a line number (1-based).
                let location = SourceLocation(file: path, line: d + 1)
                do {
                    if let paragraphs = entry["paragraphs"] {
                        examples += try nested(paragraphs, location: location)
                    } else {
                        examples.append(try flat(entry, location: location))
                    }
                } catch let problem as Problem {
                    bad.append(BadRow(location: location, reason: "data[\(d)]: " + problem.message))
                }
            }
        }
        if !bad.isEmpty { throw DataError.badRows(bad) }
        if examples.isEmpty { throw DataError.noDataRows(path: path, skipped: 0) }
        var seen = Set<String>()
        let duplicates = examples.filter { !seen.insert($0.id).inserted }
        if !duplicates.isEmpty {
            throw DataError.badRows(duplicates.map { BadRow(location: $0.location, reason: "id \"\($0.id)\" appears more than once") })
        }
        return examples
    }

    struct Problem: Error { var message: String }

    static func string(_ object: [String: Any], _ key: String) throws -> String {
        guard let value = object[key] else { throw Problem(message: "missing \"\(key)\"") }
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }  // ids written as numbers
        throw Problem(message: "\"\(key)\" must be a string")
    }

    static func offset(_ value: Any, _ what: String) throws -> Int {
        guard let number = value as? NSNumber, let offset = Int(exactly: number.doubleValue), offset >= 0 else {
            throw Problem(message: "\(what) must be a non-negative integer")
        }
        return offset
    }

    /// A flat row: `answers` as `{"text": [...], "answer_start": [...]}` (or a list of `{text, answer_start}`).
    static func flat(_ object: [String: Any], location: SourceLocation) throws -> SquadExample {
        let id = try string(object, "id"), question = try string(object, "question"), context = try string(object, "context")
        var texts: [String] = [], starts: [Int] = []
        switch object["answers"] {
        case let answers as [String: Any]:
            guard let t = answers["text"] as? [String], let s = answers["answer_start"] as? [Any], t.count == s.count else {
                throw Problem(message: "\"answers\" needs \"text\" (strings) and \"answer_start\" (integers), as many of each")
            }
            texts = t
            starts = try s.map { try offset($0, "answer_start") }
        case let answers as [[String: Any]]:
            (texts, starts) = try answerList(answers)
        case nil, is NSNull:
            break
        default:
            throw Problem(message: "\"answers\" must be {\"text\": [...], \"answer_start\": [...]} or a list of {text, answer_start}")
        }
        return try checked(SquadExample(id: id, question: question, context: context, answerTexts: texts, answerStarts: starts, location: location))
    }

    static func answerList(_ answers: [[String: Any]]) throws -> ([String], [Int]) {
        var texts: [String] = [], starts: [Int] = []
        for answer in answers {
            texts.append(try string(answer, "text"))
            guard let start = answer["answer_start"] else { throw Problem(message: "an answer lacks \"answer_start\"") }
            starts.append(try offset(start, "answer_start"))
        }
        return (texts, starts)
    }

    /// The official nested layout: paragraphs of a context and its questions.
    static func nested(_ value: Any, location: SourceLocation) throws -> [SquadExample] {
        guard let paragraphs = value as? [[String: Any]] else { throw Problem(message: "\"paragraphs\" must be an array of objects") }
        var examples: [SquadExample] = []
        for (p, paragraph) in paragraphs.enumerated() {
            let context = try string(paragraph, "context")
            guard let qas = paragraph["qas"] as? [[String: Any]] else { throw Problem(message: "paragraphs[\(p)] needs \"qas\", an array") }
            for qa in qas {
                let impossible = (qa["is_impossible"] as? Bool) ?? false
                let (texts, starts) = impossible ? ([], []) : try answerList((qa["answers"] as? [[String: Any]]) ?? [])
                examples.append(
                    try checked(
                        SquadExample(
                            id: try string(qa, "id"), question: try string(qa, "question"), context: context,
                            answerTexts: texts, answerStarts: starts, location: location)))
            }
        }
        return examples
    }

    /// An answer must lie inside its context.
    static func checked(_ example: SquadExample) throws -> SquadExample {
        let length = example.context.unicodeScalars.count
        for (text, start) in zip(example.answerTexts, example.answerStarts) where start > length || text.unicodeScalars.count > length - start {
            throw Problem(message: "question \"\(example.id)\": answer \"\(text)\" at \(start) runs past the context (\(length) characters)")
        }
        return example
    }

    /// The answers whose text is not the context's characters at `answer_start` (SQuAD's own files
    /// have none; a hand-made file often has an off-by-one).
    public static func misplacedAnswers(_ examples: [SquadExample]) -> Int {
        examples.reduce(0) { count, example in
            let scalars = Array(example.context.unicodeScalars)
            return count
                + zip(example.answerTexts, example.answerStarts).filter { text, start in
                    String(String.UnicodeScalarView(scalars[start..<(start + text.unicodeScalars.count)])) != text
                }.count
        }
    }
}
