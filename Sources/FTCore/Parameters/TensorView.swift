/// A named window into a flat buffer: where one tensor of the model lives.
///
/// Shapes follow PyTorch, with weights stored `(out, in)`, so a reference file from PyTorch maps
/// onto the buffer without transposes.
public struct TensorView: Sendable, Hashable {
    public let name: String
    public let shape: [Int]
    /// Offset in elements from the start of the flat buffer.
    public let offset: Int

    public init(name: String, shape: [Int], offset: Int) {
        self.name = name
        self.shape = shape
        self.offset = offset
    }

    /// Number of elements (1 for a scalar of shape `[]`).
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}
