import Foundation
import Hummingbird

/// `"inputs"`: one text, a list of texts, or a list of `[text, pair]` lists (mixed lists allowed);
/// a question-answering item may be `{"question": …, "context": …}` (the pair question, context).
struct ServeInputs: Decodable {
    /// The question-answering pipeline's input object.
    struct QuestionContext: Decodable {
        var question: String
        var context: String
    }

    var items: [(text: String, pair: String?)]

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let text = try? single.decode(String.self) {
            items = [(text, nil)]
            return
        }
        if let qa = try? single.decode(QuestionContext.self) {
            items = [(qa.question, qa.context)]
            return
        }
        guard var list = try? decoder.unkeyedContainer() else {
            throw ServeError.validation("inputs: expected a string, a list of strings or a list of [text, pair] lists")
        }
        items = []
        while !list.isAtEnd {
            let index = list.currentIndex
            if let text = try? list.decode(String.self) {
                items.append((text, nil))
            } else if let pair = try? list.decode([String].self), pair.count == 2 {
                items.append((pair[0], pair[1]))
            } else if let qa = try? list.decode(QuestionContext.self) {
                items.append((qa.question, qa.context))
            } else {
                throw ServeError.validation(
                    "inputs[\(index)]: expected a string, a [text, pair] list of two strings or a {\"question\", \"context\"} object")
            }
        }
    }
}

/// The body of `/v1/predict` and `/v1/tokenize`.
struct TextsBody: Decodable {
    var model: String?
    var inputs: ServeInputs
}

/// The body of `/v1/embed`.
struct EmbedBody: Decodable {
    var model: String?
    var inputs: ServeInputs
    var pooling: String?
    var normalize: Bool?
}

enum ServeRequests {
    /// Reads and decodes a JSON body of at most `limit` bytes.
    /// - Throws: `ServeError`: too_large past the limit, validation naming the field otherwise.
    static func decode<Body: Decodable>(
        _ type: Body.Type, from request: Request, limit: Int, state: RequestState? = nil
    ) async throws -> Body {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ServeError(.tooLarge, "request body over max_body_bytes (\(limit) bytes)")
        }
        state?.stamp(.bodyRead)
        let data = Data(buffer.readableBytesView)
        defer { state?.stamp(.decoded) }
        do {
            return try JSONDecoder().decode(Body.self, from: data)
        } catch let error as ServeError {
            throw error
        } catch let error as DecodingError {
            throw ServeError.validation(message(error))
        }
    }

    /// A decoding error as a message naming the field.
    static func message(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing field \(parent.isEmpty ? "" : parent + ".")\(key.stringValue)"
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return field.isEmpty ? "the body must be a JSON object" : "\(field): expected \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): null where \(typeName(type)) is expected"
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return field.isEmpty ? "malformed JSON: \(context.debugDescription)" : "\(field): \(context.debugDescription)"
        @unknown default:
            return "malformed request: \(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is [String: Any].Type: "a JSON object"
        default: "\(type)"
        }
    }
}
