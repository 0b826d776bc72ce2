/// The two-level all-reduce of multi-node jobs (Horovod's hierarchical all-reduce, NCCL's
/// tree-of-rings idea on CPUs): most bytes move over shared memory, and each byte crosses the
/// network once per direction, in `k` parallel streams per node.
///
/// With `k` ranks on each of `N` nodes (`NodeLayout`, uniform):
///
/// ```
/// 1. inside each node   ring reduce-scatter over the k local ranks: local position j holds
///                       the node's sum of shard s(j) (one k-th of the buffer)
/// 2. across nodes       the N ranks at local position j (one per node) all-reduce shard s(j),
///                       all k shards at once, with the ring or halving/doubling (`inner`)
/// 3. inside each node   ring all-gather: every rank gets every finished shard
/// ```
///
/// Node phases use `CollectiveTag.allReduceIntraNode`, the network phase `allReduceInterNode`,
/// so the messages of the two levels never match each other. One node: step 1 and 3 are the
/// ring over the node; one rank per node: step 2 is the whole all-reduce.
///
/// Not thread-safe: one instance per rank, used from one thread, collectively on all ranks.
final class HierarchicalAllReduce {
    let communicator: any Communicator
    let layout: NodeLayout
    private let ring: RingAllReduce
    private let halvingDoubling: HalvingDoublingAllReduce
    private let nodeGroup: RankGroup
    private let crossGroup: RankGroup

    /// - Precondition: `layout.isUniform` and `layout.size == communicator.size`.
    init(communicator: any Communicator, layout: NodeLayout, ring: RingAllReduce, halvingDoubling: HalvingDoublingAllReduce) {
        precondition(layout.isUniform && layout.size == communicator.size, "hierarchical needs a uniform layout of the world")
        self.communicator = communicator
        self.layout = layout
        self.ring = ring
        self.halvingDoubling = halvingDoubling
        nodeGroup = layout.nodeGroup(of: communicator.rank)
        crossGroup = layout.crossGroup(of: communicator.rank)
    }

    /// Collective, in place: every rank's `buffer` becomes the element-wise sum over all ranks.
    /// `inner` is `.ring` or `.halvingDoubling`: the algorithm of the cross-node phase.
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int, inner: AllReduceAlgorithm) throws {
        guard count > 0 else { return }
        let k = nodeGroup.size
        try ring.reduceScatter(buffer, count: count, group: nodeGroup, tag: CollectiveTag.allReduceIntraNode)
        let shards = ChunkLayout(count: count, parts: k)
        let shard = RingAllReduce.ownedChunk(position: nodeGroup.position, groupSize: k)
        let start = buffer + shards.offset(shard), length = shards.length(shard)
        switch inner {
        case .halvingDoubling:
            try halvingDoubling.allReduceSum(start, count: length, group: crossGroup, tag: CollectiveTag.allReduceInterNode)
        default:
            try ring.reduceScatter(start, count: length, group: crossGroup, tag: CollectiveTag.allReduceInterNode)
            try ring.allGather(start, count: length, group: crossGroup, tag: CollectiveTag.allReduceInterNode)
        }
        try ring.allGather(buffer, count: count, group: nodeGroup, tag: CollectiveTag.allReduceIntraNode)
    }
}
