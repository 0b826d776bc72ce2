import FTCore

/// A prediction served on an A/B route: what the arm's model answered for request `id`.
public struct ABPrediction: Equatable, Sendable {
    /// The server's request id (`x-request-id`), which feedback names.
    public var id: String
    public var route: String
    public var arm: String
    /// The served model that answered (the arm's model).
    public var model: String
    /// The predicted label of each input of the request, in order.
    public var labels: [String]
    /// When it was served: ISO 8601 UTC with milliseconds (`2026-12-07T14:00:00.123Z`).
    public var time: String

    public init(id: String, route: String, arm: String, model: String, labels: [String], time: String) {
        self.id = id
        self.route = route
        self.arm = arm
        self.model = model
        self.labels = labels
        self.time = time
    }
}

/// The true labels of an earlier A/B request, sent by the client (`POST /v1/feedback`).
public struct ABFeedback: Equatable, Sendable {
    public var id: String
    /// The true label of each input of the request, in order.
    public var labels: [String]
    public var time: String

    public init(id: String, labels: [String], time: String) {
        self.id = id
        self.labels = labels
        self.time = time
    }
}

/// One line of an A/B log (JSON Lines, one object per line, keys in this order):
///
///     {"kind":"prediction","id":"r1","route":"sentiment","arm":"full","model":"full","labels":["pos"],"time":"…"}
///     {"kind":"feedback","id":"r1","labels":["neg"],"time":"…"}
public enum ABLogRecord: Equatable, Sendable {
    case prediction(ABPrediction)
    case feedback(ABFeedback)

    /// The request id the record is about.
    public var id: String {
        switch self {
        case .prediction(let p): return p.id
        case .feedback(let f): return f.id
        }
    }

    /// The record as one JSON line, newline included.
    public var line: String {
        switch self {
        case .prediction(let p):
            return "{\"kind\":\"prediction\",\"id\":\(jsonQuoted(p.id)),\"route\":\(jsonQuoted(p.route)),"
                + "\"arm\":\(jsonQuoted(p.arm)),\"model\":\(jsonQuoted(p.model)),\"labels\":\(jsonQuoted(p.labels)),"
                + "\"time\":\(jsonQuoted(p.time))}\n"
        case .feedback(let f):
            return "{\"kind\":\"feedback\",\"id\":\(jsonQuoted(f.id)),\"labels\":\(jsonQuoted(f.labels)),"
                + "\"time\":\(jsonQuoted(f.time))}\n"
        }
    }

    /// Parses one line (without its line ending); the message of a thrown error says what is wrong
    /// and the reader adds the file and line number.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(LineError) -> ABLogRecord {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw LineError("not valid UTF-8") }
        let value: StrictJSON.Value
        do {
            value = try StrictJSON.parse(bytes, options: StrictJSON.Options(endName: "end of line"))
        } catch {
            throw LineError("invalid JSON at column \(StrictJSON.column(ofOffset: error.offset, in: bytes)): \(error.message)")
        }
        guard case .object(let members) = value else { throw LineError("expected an object, found \(value.typeName)") }
        var fields: [String: StrictJSON.Value] = [:]
        for member in members {
            guard fields.updateValue(member.value, forKey: member.key) == nil else {
                throw LineError("key \"\(member.key)\" appears twice")
            }
        }
        func string(_ key: String) throws(LineError) -> String {
            guard let value = fields[key] else { throw LineError("missing \"\(key)\"") }
            guard case .string(let text) = value, !text.isEmpty else {
                throw LineError("\"\(key)\" must be a non-empty string, found \(value.typeName)")
            }
            return text
        }
        func labels() throws(LineError) -> [String] {
            guard let value = fields["labels"] else { throw LineError("missing \"labels\"") }
            guard case .array(let items) = value, !items.isEmpty else {
                throw LineError("\"labels\" must be a non-empty array of strings")
            }
            var labels: [String] = []
            for item in items {
                guard case .string(let label) = item else { throw LineError("\"labels\" holds \(item.typeName), not a string") }
                labels.append(label)
            }
            return labels
        }
        switch try string("kind") {
        case "prediction":
            return .prediction(
                ABPrediction(
                    id: try string("id"), route: try string("route"), arm: try string("arm"),
                    model: try string("model"), labels: try labels(), time: try string("time")))
        case "feedback":
            return .feedback(ABFeedback(id: try string("id"), labels: try labels(), time: try string("time")))
        case let other:
            throw LineError("unknown \"kind\" \"\(other)\" (expected \"prediction\" or \"feedback\")")
        }
    }

    /// Why one line is not a record.
    struct LineError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }
}

/// `text` as a JSON string literal: quotes, backslashes and control characters escaped, everything
/// else written as UTF-8 (RFC 8259 §7).
func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

func jsonQuoted(_ texts: [String]) -> String {
    "[" + texts.map { jsonQuoted($0) }.joined(separator: ",") + "]"
}
