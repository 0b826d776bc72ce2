/// A named window into a flat buffer: where one tensor of the model lives.
///
/// Shapes follow PyTorch, with weights stored `(out, in)`, so a reference file from PyTorch maps
/// onto the buffer without transposes.
public struct TensorView: Sendable, Hashable {
    public let name: String
    public let shape: [Int]
    /// Offset in elements from the start of the flat value buffer.
    public let offset: Int
    /// Offset in elements of its gradient in the (packed) gradient buffer, or nil when the tensor
    /// is frozen and has no gradient storage.
    public let gradientOffset: Int?

    public init(name: String, shape: [Int], offset: Int, gradientOffset: Int? = nil) {
        self.name = name
        self.shape = shape
        self.offset = offset
        self.gradientOffset = gradientOffset
    }

    /// Number of elements (1 for a scalar of shape `[]`).
    public var count: Int { shape.reduce(1, *) }
    /// Where its values live in the value buffer.
    public var range: Range<Int> { offset..<(offset + count) }
    /// Where its gradient lives in the gradient buffer; nil when frozen.
    public var gradientRange: Range<Int>? { gradientOffset.map { $0..<($0 + count) } }
    /// True when the tensor is trained (it has gradient storage).
    public var isTrainable: Bool { gradientOffset != nil }
}

/// One tensor's value pointer and gradient pointer (nil when it is frozen), taken from a
/// `ParameterStore` once, so forward and backward passes look nothing up by name. Valid while the
/// store lives and until its next `setTrainable` (`ParameterStore.generation`).
public struct TensorSlot: @unchecked Sendable {
    public let value: UnsafeMutablePointer<Float>
    public let gradient: UnsafeMutablePointer<Float>?

    public init(value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?) {
        self.value = value
        self.gradient = gradient
    }
}
