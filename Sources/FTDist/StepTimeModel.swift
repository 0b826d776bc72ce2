/// The modelled time of one data-parallel training step: compute (measured by `fttrain bench`)
/// plus whatever gradient all-reduce the overlap does not hide, from `AllReduceCostModel`.
///
/// Buckets are PyTorch DDP's: the first holds `firstBucketBytes` (1 MiB), the rest up to
/// `bucketBytes` (25 MiB), in the order backward finishes them. Backward is taken to finish bytes
/// at a constant rate, so bucket `i` is ready at `forward + backward · (bytes so far / total)`.
/// Overlapped, bucket `i` starts when it is ready and the previous bucket is done; the step ends
/// when backward and the last bucket have (`ddp_overlap_allreduce: true`). Not overlapped, every
/// bucket runs after backward. Weak scaling (per-rank batch fixed): efficiency is compute / step.
public struct StepTimeModel: Sendable, Equatable {
    public var forwardSeconds: Double
    public var backwardSeconds: Double
    /// The gradient buckets' sizes in bytes, in the order backward finishes them.
    public var bucketBytes: [Int]

    public init(forwardSeconds: Double, backwardSeconds: Double, bucketBytes: [Int]) {
        self.forwardSeconds = forwardSeconds
        self.backwardSeconds = backwardSeconds
        self.bucketBytes = bucketBytes
    }

    /// A step of `computeSeconds` (one third forward, two thirds backward) whose `gradientBytes`
    /// travel in DDP's buckets.
    public init(computeSeconds: Double, gradientBytes: Int, firstBucketBytes: Int = 1 << 20, bucketBytes: Int = 25 << 20) {
        self.init(
            forwardSeconds: computeSeconds / 3, backwardSeconds: computeSeconds * 2 / 3,
            bucketBytes: Self.buckets(totalBytes: gradientBytes, firstBucketBytes: firstBucketBytes, bucketBytes: bucketBytes))
    }

    /// `totalBytes` cut into a first bucket of `firstBucketBytes`, then buckets of `bucketBytes`.
    public static func buckets(totalBytes: Int, firstBucketBytes: Int, bucketBytes: Int) -> [Int] {
        var sizes: [Int] = []
        var left = totalBytes
        var cap = firstBucketBytes
        while left > 0 {
            sizes.append(min(cap, left))
            left -= min(cap, left)
            cap = bucketBytes
        }
        return sizes
    }

    public var computeSeconds: Double { forwardSeconds + backwardSeconds }

    /// Seconds of one step with `algorithm` (`auto`: each bucket's fastest) on `layout`.
    public func stepSeconds(
        costModel: AllReduceCostModel, algorithm: AllReduceAlgorithm, layout: AllReduceCostModel.Layout,
        overlap: Bool = true
    ) -> Double {
        let total = Double(bucketBytes.reduce(0, +))
        let backwardEnd = forwardSeconds + backwardSeconds
        var end = 0.0  // when the previous bucket's all-reduce finished
        var finished = 0.0
        for bytes in bucketBytes {
            finished += Double(bytes)
            let ready = overlap ? forwardSeconds + backwardSeconds * finished / max(total, 1) : backwardEnd
            end = max(ready, end) + costModel.predictedSeconds(algorithm, bytes: bytes, layout: layout)
        }
        return max(backwardEnd, end)
    }

    /// Compute over step time at `layout` (1 = perfect weak scaling).
    public func efficiency(
        costModel: AllReduceCostModel, algorithm: AllReduceAlgorithm, layout: AllReduceCostModel.Layout,
        overlap: Bool = true
    ) -> Double {
        computeSeconds / stepSeconds(costModel: costModel, algorithm: algorithm, layout: layout, overlap: overlap)
    }
}
