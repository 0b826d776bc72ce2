/// One contiguous buffer of parameters and one of gradients, with a named view per tensor
/// (llm.c's `params_memory`, Horovod's fusion buffer).
///
/// The optimizer is one flat loop over `values`/`gradients`, and the all-reduce one call over
/// `gradients`. The order of the layout is chosen by the model: tensors that are multiplied
/// together (the query, key and value weights) sit side by side, so one product covers them.
///
/// Contract: backward passes *accumulate* into `gradients` (`+=`); `zeroGradients()` is explicit.
public final class ParameterStore: @unchecked Sendable {
    /// All parameters, in layout order.
    public let values: UnsafeMutableBufferPointer<Float>
    /// Gradients, the same size and layout as `values`.
    public let gradients: UnsafeMutableBufferPointer<Float>
    /// Views in layout order.
    public let views: [TensorView]
    private let index: [String: Int]

    /// Allocates zero-filled buffers for the given `(name, shape)` list, in that order.
    /// - Precondition: names are unique.
    public init(layout: [(name: String, shape: [Int])]) {
        var views: [TensorView] = []
        var index: [String: Int] = [:]
        var offset = 0
        for (name, shape) in layout {
            precondition(index[name] == nil, "duplicate parameter name \(name)")
            index[name] = views.count
            let view = TensorView(name: name, shape: shape, offset: offset)
            views.append(view)
            offset += view.count
        }
        self.views = views
        self.index = index
        values = .allocate(capacity: offset)
        values.initialize(repeating: 0)
        gradients = .allocate(capacity: offset)
        gradients.initialize(repeating: 0)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// Total number of parameters.
    public var count: Int { values.count }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The view called `name`. - Precondition: it exists (names come from the model's own layout).
    public func view(_ name: String) -> TensorView {
        guard let i = index[name] else { preconditionFailure("no parameter named \(name)") }
        return views[i]
    }

    /// Pointer to the first value of `name`.
    public func value(_ name: String) -> UnsafeMutablePointer<Float> {
        values.baseAddress! + view(name).offset
    }

    /// Pointer to the first gradient element of `name`.
    public func gradient(_ name: String) -> UnsafeMutablePointer<Float> {
        gradients.baseAddress! + view(name).offset
    }

    /// Copies out one tensor's values (for tests, export and checks; not for hot loops).
    public func valueArray(_ name: String) -> [Float] {
        Array(UnsafeBufferPointer(start: value(name), count: view(name).count))
    }

    /// Copies out one tensor's gradient.
    public func gradientArray(_ name: String) -> [Float] {
        Array(UnsafeBufferPointer(start: gradient(name), count: view(name).count))
    }

    public func zeroGradients() {
        gradients.update(repeating: 0)
    }
}
