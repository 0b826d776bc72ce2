import Foundation
import Hummingbird

/// A request the server refuses or fails, answered with text-embeddings-inference's error shape:
/// `{"error": "message that names the problem", "error_type": "validation"}`.
public struct ServeError: Error, Sendable, CustomStringConvertible {
    /// The `error_type` values, each with its HTTP status.
    public enum Kind: String, Sendable {
        /// 400: malformed JSON, a missing or wrong-typed field, too many or no inputs, a text too long.
        case validation
        /// 404: unknown model, route or request id.
        case notFound = "not_found"
        /// 413: a body over `max_body_bytes`.
        case tooLarge = "too_large"
        /// 429: more than `max_concurrent_requests` in flight.
        case overloaded
        /// 500: a fault of the server, never of the input.
        case `internal`
        /// 503: the server is draining (SIGTERM) and takes no new inference request.
        case unavailable

        public var status: HTTPResponse.Status {
            switch self {
            case .validation: .badRequest
            case .notFound: .notFound
            case .tooLarge: .contentTooLarge
            case .overloaded: .tooManyRequests
            case .internal: .internalServerError
            case .unavailable: .serviceUnavailable
            }
        }
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    static func validation(_ message: String) -> ServeError { ServeError(.validation, message) }

    /// The JSON body.
    public var json: String { "{\"error\": \(JSONText.string(message)), \"error_type\": \(JSONText.string(kind.rawValue))}" }

    /// The error a thrown value answers with: a `ServeError` as is, Hummingbird's 404/413 as
    /// not_found/too_large, anything else as internal (its text kept, for the log and the client).
    static func from(_ error: any Error) -> ServeError {
        if let error = error as? ServeError { return error }
        if let error = error as? any HTTPResponseError {
            switch error.status {
            case .notFound: return ServeError(.notFound, "no such route")
            case .contentTooLarge: return ServeError(.tooLarge, "request body too large")
            case .badRequest: return ServeError(.validation, "bad request: \(error)")
            default: return ServeError(.internal, "\(error)")
            }
        }
        return ServeError(.internal, "\(error)")
    }
}

/// JSON text written by hand: numbers as Swift prints a `Float` (the shortest text that reads back
/// to the same value, as `fttrain predict` prints them), strings escaped.
enum JSONText {
    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }

    static func array(_ values: some Sequence<Float>) -> String { "[" + values.map(number).joined(separator: ", ") + "]" }

    static func strings(_ values: [String]) -> String { "[" + values.map(string).joined(separator: ", ") + "]" }
}
