/// One contiguous buffer of parameters and one of gradients, with a named view per tensor
/// (llm.c's `params_memory`, Horovod's fusion buffer).
///
/// The optimizer is one flat loop over the gradient buffer, and the all-reduce one call over
/// `gradients`. The order of the layout is chosen by the model: tensors that are multiplied
/// together (the query, key and value weights) sit side by side, so one product covers them.
///
/// Freezing: only *trainable* tensors have gradient storage. Their gradients are packed into
/// `gradients` in layout order, so the gradient buffer — what backward writes, what the
/// all-reduce averages, what clipping measures and what AdamW steps — holds the trainable part and
/// nothing else (with LoRA: the A and B matrices and the head, a few hundred kilobytes instead of
/// the whole model). By default every tensor is trainable and the two buffers share one layout.
///
/// Contract: backward passes *accumulate* into `gradients` (`+=`); `zeroGradients()` is explicit.
public final class ParameterStore: @unchecked Sendable {
    /// All parameters, in layout order.
    public let values: UnsafeMutableBufferPointer<Float>
    /// Gradients of the trainable tensors, packed in layout order (`trainableCount` elements).
    public private(set) var gradients: UnsafeMutableBufferPointer<Float>
    /// Views in layout order, each with its gradient offset when trainable.
    public private(set) var views: [TensorView]
    /// Counts `setTrainable` calls: pointers into `gradients` taken before a change of it are stale
    /// (a model's typed views are rebuilt when it moves).
    public private(set) var generation = 0
    private let index: [String: Int]

    /// Allocates zero-filled buffers for the given `(name, shape)` list, in that order, every
    /// tensor trainable.
    /// - Precondition: names are unique.
    public init(layout: [(name: String, shape: [Int])]) {
        var views: [TensorView] = []
        var index: [String: Int] = [:]
        var offset = 0
        for (name, shape) in layout {
            precondition(index[name] == nil, "duplicate parameter name \(name)")
            index[name] = views.count
            let view = TensorView(name: name, shape: shape, offset: offset, gradientOffset: offset)
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

    /// Number of trainable parameters: the size of the gradient buffer.
    public var trainableCount: Int { gradients.count }

    /// True when every tensor is trainable (the gradient buffer mirrors the value buffer).
    public var isFullyTrainable: Bool { trainableCount == count }

    /// The trainable views, in layout order (which is also their order in `gradients`).
    public var trainableViews: [TensorView] { views.filter(\.isTrainable) }

    /// Chooses which tensors are trained: the gradient buffer is reallocated (zero-filled) to hold
    /// exactly the gradients of the tensors `isTrainable` accepts, packed in layout order.
    /// Values are untouched. An optimizer built before this call no longer fits.
    public func setTrainable(_ isTrainable: (String) -> Bool) {
        var packed = 0
        views = views.map { view in
            guard isTrainable(view.name) else {
                return TensorView(name: view.name, shape: view.shape, offset: view.offset, gradientOffset: nil)
            }
            defer { packed += view.count }
            return TensorView(name: view.name, shape: view.shape, offset: view.offset, gradientOffset: packed)
        }
        gradients.deallocate()
        gradients = .allocate(capacity: packed)
        gradients.initialize(repeating: 0)
        generation += 1
    }

    /// The value and gradient pointers of `name`, for typed views built once (no lookups in passes).
    public func slot(_ name: String) -> TensorSlot {
        TensorSlot(value: value(name), gradient: gradient(name))
    }

    /// Maximal stretches that are contiguous in both buffers: `count` values from `valueOffset`
    /// whose gradients start at `gradientOffset`. One run covers everything when the store is
    /// fully trainable; the optimizer walks these.
    public var trainableRuns: [(valueOffset: Int, gradientOffset: Int, count: Int)] {
        var runs: [(valueOffset: Int, gradientOffset: Int, count: Int)] = []
        for view in views {
            guard let g = view.gradientOffset, view.count > 0 else { continue }
            if let last = runs.last, last.valueOffset + last.count == view.offset, last.gradientOffset + last.count == g {
                runs[runs.count - 1].count += view.count
            } else {
                runs.append((view.offset, g, view.count))
            }
        }
        return runs
    }

    /// The stretch of the gradient buffer holding the trainable tensors whose names start with
    /// `prefix` (`"encoder.layer.3."`), or nil when none is trainable. Packing keeps layout order,
    /// so the trainable tensors of one layer (adapters included) are contiguous: a gradient bucket
    /// per layer, filled in reverse layer order during backward, is one such range.
    public func gradientSpan(prefix: String) -> Range<Int>? {
        var span: Range<Int>?
        for view in views where view.name.hasPrefix(prefix) {
            guard let range = view.gradientRange else { continue }
            span = span.map { min($0.lowerBound, range.lowerBound)..<max($0.upperBound, range.upperBound) } ?? range
        }
        return span
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The view called `name`. - Precondition: it exists (names come from the model's own layout).
    public func view(_ name: String) -> TensorView {
        guard let i = index[name] else { preconditionFailure("no parameter named \(name)") }
        return views[i]
    }

    /// Whether `name` is trained (has gradient storage).
    public func isTrainable(_ name: String) -> Bool { view(name).isTrainable }

    /// Pointer to the first value of `name`.
    public func value(_ name: String) -> UnsafeMutablePointer<Float> {
        values.baseAddress! + view(name).offset
    }

    /// Pointer to the first gradient element of `name`, or nil when it is frozen (backward then
    /// skips its weight-gradient product).
    public func gradient(_ name: String) -> UnsafeMutablePointer<Float>? {
        view(name).gradientOffset.map { gradients.baseAddress! + $0 }
    }

    /// One pointer to the gradients of tensors that a fused product treats as one (the query, key
    /// and value weights: one `(3C, C)` matrix), or nil unless all of them are trainable and
    /// adjacent in the gradient buffer, in the given order.
    public func gradient(spanning names: [String]) -> UnsafeMutablePointer<Float>? {
        guard let first = names.first, var next = view(first).gradientOffset else { return nil }
        for name in names {
            let view = view(name)
            guard view.gradientOffset == next else { return nil }
            next += view.count
        }
        return gradients.baseAddress! + view(first).gradientOffset!
    }

    /// Copies out one tensor's values (for tests, export and checks; not for hot loops).
    public func valueArray(_ name: String) -> [Float] {
        Array(UnsafeBufferPointer(start: value(name), count: view(name).count))
    }

    /// Copies out one tensor's gradient. - Precondition: it is trainable.
    public func gradientArray(_ name: String) -> [Float] {
        guard let g = gradient(name) else { preconditionFailure("\(name) is frozen: it has no gradient") }
        return Array(UnsafeBufferPointer(start: g, count: view(name).count))
    }

    /// The trainable values packed in gradient-buffer order (`trainableCount` of them, lined up
    /// with `gradients`): what a data-parallel leader hands its ranks, what FedProx anchors to.
    public func trainableValues() -> [Float] {
        var packed = [Float](repeating: 0, count: trainableCount)
        packed.withUnsafeMutableBufferPointer { p in
            for run in trainableRuns {
                (p.baseAddress! + run.gradientOffset).update(from: values.baseAddress! + run.valueOffset, count: run.count)
            }
        }
        return packed
    }

    /// Sets the trainable values from `packed`, in `trainableValues()`'s order.
    /// - Precondition: `packed.count == trainableCount`.
    public func setTrainableValues(_ packed: [Float]) {
        precondition(packed.count == trainableCount, "\(packed.count) values for \(trainableCount) trainable parameters")
        packed.withUnsafeBufferPointer { p in
            for run in trainableRuns {
                (values.baseAddress! + run.valueOffset).update(from: p.baseAddress! + run.gradientOffset, count: run.count)
            }
        }
    }

    public func zeroGradients() {
        gradients.update(repeating: 0)
    }
}
