import FTCore

/// The gradient of an embedding table averaged over the rows any rank's batch touched, instead
/// of the whole table: a word-embedding row only gets gradient where its token occurs, so a step
/// with a few thousand distinct tokens needs a few percent of MiniLM's 30,522 × 384 floats (47 MB,
/// half of all its gradients) on the wire. The result is the dense average exactly: rows no rank
/// touched are zero on every rank, and the touched rows go through the same all-reduce.
///
/// Per step: `reset`, `mark` every micro-batch's token ids, then `average` (collective: the ranks
/// first average a 0/1 mask of touched rows to agree on the union, then the packed rows).
public final class SparseRowGradient: @unchecked Sendable {
    /// Where the table's gradient lies in the (trainable) gradient buffer.
    public let range: Range<Int>
    public let rowLength: Int
    public var rowCount: Int { range.count / rowLength }
    /// (rows) 1 where this rank's batch used the row; after `average`, > 0 where any rank's did.
    private let mask: UnsafeMutablePointer<Float>
    /// Packed rows, grown on demand (to at most the whole table).
    private var packed: UnsafeMutablePointer<Float>
    private var packedCapacity = 0
    private var rowIndices: [Int] = []
    /// Rows averaged in the last `average` (for the log and tests).
    public private(set) var lastRowCount = 0

    public init(range: Range<Int>, rowLength: Int) {
        precondition(rowLength > 0 && range.count % rowLength == 0, "the table must be whole rows")
        self.range = range
        self.rowLength = rowLength
        mask = .allocate(capacity: max(range.count / rowLength, 1))
        mask.initialize(repeating: 0, count: max(range.count / rowLength, 1))
        packed = .allocate(capacity: 1)
        rowIndices.reserveCapacity(range.count / rowLength)
    }

    /// The embedding table `name` of `store` (the model's `tensorNames.wordEmbeddings`), or nil
    /// when the store has none or it is frozen.
    public convenience init?(table name: String, of store: ParameterStore) {
        guard store.contains(name) else { return nil }
        let view = store.view(name)
        guard view.shape.count == 2, let range = view.gradientRange else { return nil }
        self.init(range: range, rowLength: view.shape[1])
    }

    deinit {
        mask.deallocate()
        packed.deallocate()
    }

    /// Starts a step: no row marked.
    public func reset() { mask.update(repeating: 0, count: rowCount) }

    /// Marks the rows of `ids` (token ids; out-of-range ids are the model's to reject).
    public func mark(_ ids: [Int32]) {
        let rows = rowCount
        for id in ids where id >= 0 && Int(id) < rows { mask[Int(id)] = 1 }
    }

    /// Starts a step over these micro-batches: exactly their tokens' rows marked.
    public func prepare(_ microBatches: [ClassificationStep.Batch]) {
        reset()
        for batch in microBatches { mark(batch.inputIds) }
    }

    /// Averages the marked rows of `gradients` (the whole flat buffer) over `world`.
    public func average(world: TrainingWorld, gradients: UnsafeMutablePointer<Float>) throws {
        let rows = rowCount, C = rowLength
        try world.averageInPlace(mask, count: rows)
        rowIndices.removeAll(keepingCapacity: true)
        for row in 0..<rows where mask[row] > 0 { rowIndices.append(row) }
        lastRowCount = rowIndices.count
        guard !rowIndices.isEmpty else { return }
        if rowIndices.count * C > packedCapacity {
            packed.deallocate()
            packedCapacity = min(rows, 2 * rowIndices.count) * C  // headroom, so growth is rare
            packed = .allocate(capacity: packedCapacity)
        }
        let table = gradients + range.lowerBound
        for (slot, row) in rowIndices.enumerated() { (packed + slot * C).update(from: table + row * C, count: C) }
        try world.averageGradientsInPlace(packed, count: rowIndices.count * C)
        for (slot, row) in rowIndices.enumerated() { (table + row * C).update(from: packed + slot * C, count: C) }
    }
}
