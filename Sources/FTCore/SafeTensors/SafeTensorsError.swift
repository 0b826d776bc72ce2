/// An error raised while reading, validating or writing a safetensors file.
///
/// The ``description`` always names the file (``path``) and, when the problem
/// concerns one tensor, that tensor's name, so a message on its own is enough
/// to locate the fault, e.g.
///
///     safetensors file '/models/m.safetensors', tensor 'encoder.w': (end - begin) is 20 bytes but shape [2, 3] of F32 needs 24 bytes
///
/// Errors raised by `SafeTensorsWriter.add(...)`, before a destination is
/// known, have an empty ``path`` and are described as coming from the
/// "safetensors writer".
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file being read or written (empty for writer errors raised before a path is known).
    public let path: String
    /// The tensor the problem concerns, if any.
    public let tensor: String?
    /// What went wrong, without the file and tensor prefix.
    public let reason: String

    /// Creates an error for `path` (and optionally `tensor`) with a human-readable `reason`.
    public init(path: String, tensor: String? = nil, reason: String) {
        self.path = path
        self.tensor = tensor
        self.reason = reason
    }

    /// "safetensors file '<path>', tensor '<name>': <reason>".
    public var description: String {
        var s = path.isEmpty ? "safetensors writer" : "safetensors file '\(path)'"
        if let tensor { s += ", tensor '\(tensor)'" }
        return s + ": " + reason
    }
}
