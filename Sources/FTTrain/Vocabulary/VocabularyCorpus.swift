import Foundation

/// The corpus `fttrain extend-vocab` counts, read from its files:
/// - `.csv` / `.tsv`: the `text` column (``DataReader/readTexts(_:format:textColumn:textPairColumn:cleaning:)``);
/// - `.jsonl` / `.ndjson` / `.json` (one object per line): `tokens` (a list of words, the token
///   classification format, each word tokenized on its own) or else `text`;
/// - anything else: plain text, one text per line (blank lines skipped).
public struct VocabularyCorpus: Sendable {
    /// One record: a text, or the words of a pre-split text.
    public enum Item: Sendable, Equatable {
        case text(String)
        case words([String])
    }

    /// The records of every file, in order.
    public private(set) var items: [Item] = []
    /// The files read and how many records each gave.
    public private(set) var files: [(path: String, records: Int)] = []

    public init() {}

    /// Reads the files in order.
    /// - Throws: ``VocabularyExtensionError`` for a missing, unreadable or empty file or a bad
    ///   JSONL line; `DataError` for a bad CSV/TSV.
    public init(paths: [String]) throws {
        for path in paths { try read(path) }
    }

    /// Reads one file (see the type's formats).
    public mutating func read(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VocabularyExtensionError.corpus(path, "no such file")
        }
        guard !isDirectory.boolValue else { throw VocabularyExtensionError.corpus(path, "is a directory, not a file") }
        let before = items.count
        switch DataFormat.inferred(fromPath: path) {
        case .csv, .tsv:
            do {
                items += try DataReader.readTexts(path).map { .text($0.text) }
            } catch DataError.noDataRows {
                throw VocabularyExtensionError.corpus(path, "holds no text")
            } catch DataError.emptyFile {
                throw VocabularyExtensionError.corpus(path, "is empty")
            }
        case .jsonl:
            for (number, line) in try lines(path) {
                items.append(try Self.jsonRecord(line, path: path, line: number))
            }
        case nil:
            items += try lines(path).map { .text($0.text) }
        }
        let texts = items[before...].filter {
            switch $0 {
            case .text(let t): return !t.allSatisfy(\.isWhitespace)
            case .words(let w): return !w.isEmpty
            }
        }
        guard !texts.isEmpty else { throw VocabularyExtensionError.corpus(path, "holds no text") }
        files.append((path, items.count - before))
    }

    /// The file's non-blank lines with their 1-based numbers.
    private func lines(_ path: String) throws -> [(number: Int, text: String)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw VocabularyExtensionError.corpus(path, "cannot be read") }
        guard !data.isEmpty else { throw VocabularyExtensionError.corpus(path, "is empty") }
        guard var text = String(data: data, encoding: .utf8) else { throw VocabularyExtensionError.corpus(path, "is not valid UTF-8") }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        var result: [(Int, String)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if !l.allSatisfy(\.isWhitespace) { result.append((index + 1, String(l))) }
        }
        return result
    }

    static func jsonRecord(_ line: String, path: String, line number: Int) throws -> Item {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw VocabularyExtensionError.corpus(path, "line \(number) is not a JSON object")
            }
            object = parsed
        } catch let error as VocabularyExtensionError {
            throw error
        } catch {
            throw VocabularyExtensionError.corpus(path, "line \(number) is not valid JSON")
        }
        if let tokens = object["tokens"] {
            guard let words = tokens as? [String] else {
                throw VocabularyExtensionError.corpus(path, "line \(number): \"tokens\" must be a list of strings")
            }
            return .words(words)
        }
        guard let text = object["text"] as? String else {
            throw VocabularyExtensionError.corpus(path, "line \(number) has neither a \"tokens\" list nor a \"text\" string")
        }
        return .text(text)
    }
}

/// An `fttrain extend-vocab` failure, naming the file or setting and the problem.
public enum VocabularyExtensionError: Error, CustomStringConvertible, Equatable {
    /// A corpus file that cannot be used.
    case corpus(String, String)
    /// The model directory cannot be extended.
    case modelDirectory(String, String)
    /// The output directory exists (and `--force` was not given).
    case outputExists(String)
    /// No character or word reaches the minimum count.
    case nothingToAdd(String)

    public var description: String {
        switch self {
        case .corpus(let path, let problem): return "corpus \(path): \(problem)"
        case .modelDirectory(let path, let problem): return "model directory \(path): \(problem)"
        case .outputExists(let path): return "output directory \(path) already exists (give --force to replace it)"
        case .nothingToAdd(let why): return "nothing to add: \(why)"
        }
    }
}
