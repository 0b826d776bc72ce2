import FTCore

/// The flat gradient buffer cut into buckets for data-parallel averaging, PyTorch DDP's way:
/// tensors are taken in reverse buffer order (the order backward finishes them: head first,
/// embeddings last) and packed into buckets of about `capacity` elements; the first bucket is
/// smaller (DDP's 1 MiB) so communication starts as early as possible. Each bucket is one
/// contiguous range of the buffer; a tensor that must not be averaged (a frozen one) ends the
/// bucket before it, and a tensor larger than `capacity` is a bucket of its own.
public struct GradientBuckets: Equatable, Sendable {
    /// The buckets, in the order they are reduced: descending offsets, disjoint.
    public let ranges: [Range<Int>]

    /// DDP's defaults: `bucket_cap_mb = 25`, first bucket 1 MiB, in float32 elements.
    public static let defaultCapacity = 25 * 1024 * 1024 / 4
    public static let defaultFirstCapacity = 1024 * 1024 / 4

    /// - Parameters:
    ///   - tensors: the ranges of the tensors to average, in buffer order, disjoint (gaps allowed).
    ///   - capacity: elements per bucket (a bucket closes once it holds at least this many).
    ///   - firstCapacity: the same for the first bucket.
    public init(tensors: [Range<Int>], capacity: Int = defaultCapacity, firstCapacity: Int = defaultFirstCapacity) {
        precondition(capacity > 0 && firstCapacity > 0, "bucket capacities must be positive")
        var ranges: [Range<Int>] = []
        var open: Range<Int>?
        for tensor in tensors.reversed() where !tensor.isEmpty {
            if let current = open, current.lowerBound == tensor.upperBound {
                open = tensor.lowerBound..<current.upperBound
            } else {
                if let current = open { ranges.append(current) }  // a gap: never average across it
                open = tensor
            }
            if let current = open, current.count >= (ranges.isEmpty ? firstCapacity : capacity) {
                ranges.append(current)
                open = nil
            }
        }
        if let current = open { ranges.append(current) }
        self.ranges = ranges
    }

    /// Every trainable tensor of `store`, by its place in the gradient buffer.
    public init(store: ParameterStore, capacity: Int = defaultCapacity, firstCapacity: Int = defaultFirstCapacity) {
        self.init(tensors: store.views.compactMap(\.gradientRange), capacity: capacity, firstCapacity: firstCapacity)
    }

    /// How many buckets (from the first) lie entirely at or above `offset`: the buckets that can be
    /// reduced once every gradient from `offset` on is final.
    public func readyCount(from offset: Int) -> Int {
        var count = 0
        while count < ranges.count && ranges[count].lowerBound >= offset { count += 1 }
        return count
    }
}
