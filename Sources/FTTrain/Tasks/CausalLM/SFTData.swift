import FTCore
import FTModel
import Foundation

/// One supervised fine-tuning example as text: consecutive segments, each trained on (its tokens
/// are loss targets) or not (prompt, user and system turns), before tokenization.
public struct SFTExample: Sendable, Equatable {
    /// A piece of the example's text and whether the loss is taken on its tokens.
    public struct Segment: Sendable, Hashable {
        public var text: String
        public var trained: Bool

        public init(_ text: String, trained: Bool) {
            self.text = text
            self.trained = trained
        }
    }

    /// The text, in order.
    public var segments: [Segment]
    /// Whether an end-of-sequence token follows the text (TRL appends EOS to a plain prompt /
    /// completion or text; a chat template ends the assistant turn itself).
    public var appendsEOS: Bool
    /// What generation is given: the text before the last trained segment ("" for plain text).
    public var prompt: String
    /// What generation should produce: the last trained segment, as written in the data (without
    /// the chat template's end-of-turn text).
    public var completion: String
    /// The label the completion was made from (labelled data with templates), else nil.
    public var label: String?
    /// Where the row starts.
    public var location: SourceLocation

    public init(
        segments: [Segment], appendsEOS: Bool, prompt: String, completion: String, label: String? = nil,
        location: SourceLocation
    ) {
        self.segments = segments
        self.appendsEOS = appendsEOS
        self.prompt = prompt
        self.completion = completion
        self.label = label
        self.location = location
    }
}

/// How rows become `SFTExample`s (the configuration's causal-LM keys).
public struct SFTDataOptions: Sendable {
    /// TRL's `completion_only_loss`: with prompt/completion rows, the loss on the completion only.
    public var completionOnlyLoss = true
    /// TRL's `assistant_only_loss`: with `messages` rows, the loss on assistant turns only.
    public var assistantOnlyLoss = true
    /// A labelled file's prompt, with `{text}`, `{text_pair}` and `{label}` placeholders; set, it
    /// selects the labelled readers (text column + label column) instead of SFT rows.
    public var promptTemplate: String?
    /// A labelled file's completion (`{label}` by default).
    public var completionTemplate = "{label}"
    /// Wraps templated prompt/completion in the chat template as a user and an assistant turn.
    public var chatTemplate = false
    /// The labelled readers' options (format, columns, cleaning, `skip_bad_rows`).
    public var read = DataReadOptions()

    public init() {}
}

/// The SFT data reader: JSON Lines rows with `messages` (chat), `prompt`/`completion`, or `text`;
/// or a labelled CSV/TSV/JSONL turned into prompt/completion by templates. Bad rows are collected
/// with file and line and reported together, as the classification reader does.
public enum SFTData {
    /// Reads `path` into examples; `tokenizer` renders chat templates.
    /// - Throws: `DataError` naming the file (and the lines of bad rows unless `skip_bad_rows`).
    public static func read(
        _ path: String, options: SFTDataOptions, tokenizer: any CausalTokenizer
    ) throws -> (
        examples: [SFTExample], skipped: [BadRow]
    ) {
        if let template = options.promptTemplate {
            return try readLabelled(path, template: template, options: options, tokenizer: tokenizer)
        }
        let format = try DataReader.resolvedFormat(path: path, options: options.read)
        guard format == .jsonl else {
            throw DataError.unreadable(
                path: path,
                reason:
                    "a causal-LM run reads JSON Lines rows with messages, prompt/completion or text; a \(format.rawValue) file needs prompt_template (and completion_template) to turn its text and label columns into prompts"
            )
        }
        let contents = try DataReader.fileContents(path)
        var examples: [SFTExample] = []
        var bad: [BadRow] = []
        try contents.withUnsafeBufferPointer { bytes in
            let start = ByteScanning.bomLength(bytes)
            if ByteScanning.isBlank(bytes, from: start, to: bytes.count) { throw DataError.emptyFile(path: path) }
            if let offset = ByteScanning.firstInvalidUTF8(bytes) {
                throw DataError.invalidUTF8(path: path, line: ByteScanning.line(ofOffset: offset, in: bytes))
            }
            try JSONLines.forEachLine(in: bytes, from: start) { record in
                let location = SourceLocation(file: path, line: record.number)
                do {
                    let value: StrictJSON.Value
                    do throws(JSONLineError) {
                        value = try record.parse()
                    } catch {
                        throw RowProblem(error.reason)
                    }
                    guard case .object(let members) = value else { throw RowProblem("expected a JSON object, found \(value.kind)") }
                    examples.append(try example(JSONObject(members), at: location, options: options, tokenizer: tokenizer))
                } catch let problem as RowProblem {
                    bad.append(BadRow(location: location, reason: problem.message))
                }
            }
        }
        if !bad.isEmpty && !options.read.skipBadRows { throw DataError.badRows(bad) }
        if examples.isEmpty { throw DataError.noDataRows(path: path, skipped: bad.count) }
        return (examples, bad)
    }

    struct RowProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// One JSON row: `messages`, else `prompt` + `completion`, else `text`.
    static func example(
        _ object: JSONObject, at location: SourceLocation, options: SFTDataOptions, tokenizer: any CausalTokenizer
    ) throws
        -> SFTExample
    {
        if let messages = object.values["messages"] {
            return try conversation(try parseMessages(messages), at: location, options: options, tokenizer: tokenizer)
        }
        if object.values["prompt"] != nil || object.values["completion"] != nil {
            let prompt = try string(object, "prompt", allowEmpty: true)
            let completion = try string(object, "completion", allowEmpty: false)
            return promptCompletion(prompt: prompt, completion: completion, label: nil, at: location, options: options)
        }
        if object.values["text"] != nil {
            let text = try string(object, "text", allowEmpty: false)
            return SFTExample(segments: [.init(text, trained: true)], appendsEOS: true, prompt: "", completion: text, location: location)
        }
        throw RowProblem(
            "expected \"messages\", \"prompt\" and \"completion\", or \"text\"; the row has \(object.keys.map { "\"\($0)\"" }.joined(separator: ", "))"
        )
    }

    static func promptCompletion(
        prompt: String, completion: String, label: String?, at location: SourceLocation, options: SFTDataOptions
    )
        -> SFTExample
    {
        SFTExample(
            segments: [.init(prompt, trained: !options.completionOnlyLoss), .init(completion, trained: true)],
            appendsEOS: true, prompt: prompt, completion: completion, label: label, location: location)
    }

    static func string(_ object: JSONObject, _ key: String, allowEmpty: Bool) throws -> String {
        switch object.values[key] {
        case .string(let s):
            if !allowEmpty && s.allSatisfy(\.isWhitespace) { throw RowProblem("empty \"\(key)\"") }
            return s
        case nil: throw RowProblem("no \"\(key)\" key")
        case .null: throw RowProblem("\"\(key)\" is null")
        case let other?: throw RowProblem("\"\(key)\" must be a string, found \(other.kind)")
        }
    }

    static let roles: Set<String> = ["system", "user", "assistant"]

    static func parseMessages(_ value: StrictJSON.Value) throws -> [ChatMessage] {
        guard case .array(let items) = value else { throw RowProblem("\"messages\" must be a list, found \(value.kind)") }
        guard !items.isEmpty else { throw RowProblem("\"messages\" is empty") }
        return try items.enumerated().map { i, item in
            guard case .object(let members) = item else { throw RowProblem("messages[\(i)] must be an object, found \(item.kind)") }
            let object = JSONObject(members)
            let role: String, content: String
            do {
                role = try string(object, "role", allowEmpty: false)
                content = try string(object, "content", allowEmpty: true)
            } catch let problem as RowProblem {
                throw RowProblem("messages[\(i)]: \(problem.message)")
            }
            guard roles.contains(role) else { throw RowProblem("messages[\(i)]: role \"\(role)\" is not system, user or assistant") }
            return ChatMessage(role: role, content: content)
        }
    }

    /// A conversation rendered by the chat template, cut into turns: every assistant turn (its
    /// content and the template's end-of-turn text) is trained with `assistant_only_loss`, the
    /// rest (system and user turns, each assistant header) is not. Requires the rendering of each
    /// prefix of the conversation to be a prefix of the next, which ChatML-style templates give.
    static func conversation(
        _ messages: [ChatMessage], at location: SourceLocation, options: SFTDataOptions, tokenizer: any CausalTokenizer
    )
        throws -> SFTExample
    {
        guard messages.last?.role == "assistant" else { throw RowProblem("the messages do not end with an assistant turn") }
        guard !messages.last!.content.allSatisfy(\.isWhitespace) else { throw RowProblem("the last assistant turn is empty") }
        var segments: [SFTExample.Segment] = []
        var rendered = ""
        var prompt = ""
        func render(_ turns: ArraySlice<ChatMessage>, generationPrompt: Bool) throws -> String {
            do {
                return try tokenizer.applyChatTemplate(Array(turns), addGenerationPrompt: generationPrompt)
            } catch {
                throw RowProblem("chat template: \(error)")
            }
        }
        func append(_ text: String, trained: Bool) throws {
            guard text.hasPrefix(rendered) else {
                throw RowProblem("the chat template does not render the conversation turn by turn (a prefix changed); cannot mask by turn")
            }
            let piece = String(text.dropFirst(rendered.count))
            if !piece.isEmpty { segments.append(.init(piece, trained: trained)) }
            rendered = text
        }
        for (i, message) in messages.enumerated() where message.role == "assistant" {
            try append(try render(messages[..<i], generationPrompt: true), trained: !options.assistantOnlyLoss)
            if i == messages.count - 1 { prompt = rendered }
            try append(try render(messages[...i], generationPrompt: false), trained: true)
        }
        return SFTExample(
            segments: segments, appendsEOS: false, prompt: prompt, completion: messages.last!.content, location: location)
    }

    /// A labelled file (the classification readers) with every row's prompt and completion made
    /// from the templates.
    static func readLabelled(
        _ path: String, template: String, options: SFTDataOptions, tokenizer: any CausalTokenizer
    ) throws -> (
        examples: [SFTExample], skipped: [BadRow]
    ) {
        let loaded = try DataReader.read(path, options: options.read)
        let examples = try loaded.examples.map { row in
            let fields = ["text": row.text, "text_pair": row.textPair ?? "", "label": row.label]
            let prompt = fill(template, fields), completion = fill(options.completionTemplate, fields)
            guard options.chatTemplate else {
                return promptCompletion(prompt: prompt, completion: completion, label: row.label, at: row.location, options: options)
            }
            do {
                var example = try conversation(
                    [ChatMessage(role: "user", content: prompt), ChatMessage(role: "assistant", content: completion)],
                    at: row.location, options: options, tokenizer: tokenizer)
                example.label = row.label
                return example
            } catch let problem as RowProblem {
                throw DataError.badRows([BadRow(location: row.location, reason: problem.message)])
            }
        }
        return (examples, loaded.skippedRows)
    }

    /// `template` with `{name}` replaced by `fields[name]` in one pass (a value's own braces are
    /// not expanded; unknown `{...}` is kept as written).
    public static func fill(_ template: String, _ fields: [String: String]) -> String {
        var result = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            if let close = rest[open...].firstIndex(of: "}"), let value = fields[String(rest[rest.index(after: open)..<close])] {
                result += value
                rest = rest[rest.index(after: close)...]
            } else {
                result.append("{")
                rest = rest[rest.index(after: open)...]
            }
        }
        return result + rest
    }
}
