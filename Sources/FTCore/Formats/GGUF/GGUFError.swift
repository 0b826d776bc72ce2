/// An error raised while reading, validating, de-quantising or writing a GGUF file.
///
/// The ``description`` always names the file and, where the problem concerns one, the metadata
/// key or the tensor, so the message alone locates the fault, e.g.
///
///     GGUF file '/m/model.gguf', tensor 'blk.0.ffn_down.weight': tensor blk.0.ffn_down.weight has type Q5_K, which fttrain cannot de-quantise (supported: …)
///
/// Writer errors raised before a destination is known have an empty ``path`` and are described
/// as coming from the "GGUF writer".
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file being read or written (empty for writer errors raised before a path is known).
    public let path: String
    /// The metadata key the problem concerns, if any.
    public let key: String?
    /// The tensor the problem concerns, if any.
    public let tensor: String?
    /// What went wrong, without the file, key and tensor prefix.
    public let reason: String
    /// Whether the reader ran out of bytes (set by the parser; a corrupt count may be the cause).
    var isTruncation = false

    /// Creates an error for `path` (and optionally a key or a tensor) with a human-readable `reason`.
    public init(path: String, key: String? = nil, tensor: String? = nil, reason: String) {
        self.path = path
        self.key = key
        self.tensor = tensor
        self.reason = reason
    }

    /// "GGUF file '<path>', metadata key '<key>' | tensor '<name>': <reason>".
    public var description: String {
        var s = path.isEmpty ? "GGUF writer" : "GGUF file '\(path)'"
        if let key { s += ", metadata key '\(key)'" }
        if let tensor { s += ", tensor '\(tensor)'" }
        return s + ": " + reason
    }
}
