/// The all-reduce algorithms `AllReducer` offers (`ddp_allreduce_algorithm`).
public enum AllReduceAlgorithm: String, CaseIterable, Codable, Sendable {
    /// Per bucket, the algorithm `AllReduceCostModel` predicts fastest for its size and the layout.
    case auto
    /// One flat ring over all ranks: `2(n − 1)` steps, bandwidth-optimal (large buffers, one node).
    case ring
    /// Rabenseifner's recursive halving then doubling: `2 log₂ n` steps, the same bytes as the ring
    /// (small and middle buffers, many ranks).
    case halvingDoubling = "halving_doubling"
    /// Reduce-scatter inside each node, all-reduce of each shard across nodes, all-gather inside
    /// each node (multi-node jobs).
    case hierarchical
    /// `MPI_Allreduce` (Open MPI chooses): the reference.
    case mpi

    /// The algorithms `auto` chooses among.
    public static let modelled: [AllReduceAlgorithm] = [.ring, .halvingDoubling, .hierarchical]
}
