/// Which ranks share a node (a host, i.e. shared memory): what `HierarchicalAllReduce` and the
/// cost model need to know about the job's placement.
///
/// Under `mpirun` it comes from `MPICommunicator.nodeLayout()` (host name, boot id and
/// network namespace of each rank); tests and `dist-bench --ranks-per-node` give it explicitly.
/// Nodes are numbered in the order of their lowest rank, so every rank computes the same layout.
public struct NodeLayout: Sendable, Equatable, CustomStringConvertible {
    /// The node index of each rank (`nodeOfRank[r]` for rank `r`), nodes numbered `0 ..< nodeCount`
    /// in the order of their lowest rank.
    public let nodeOfRank: [Int]
    /// The ranks of each node, ascending.
    public let nodes: [[Int]]

    /// A layout from any node label per rank (e.g. the world rank of each node's leader); labels
    /// are renumbered by first appearance.
    public init(nodeLabels: [Int]) {
        precondition(!nodeLabels.isEmpty, "a layout needs at least one rank")
        var number: [Int: Int] = [:]
        var nodes: [[Int]] = []
        var nodeOfRank: [Int] = []
        for (rank, label) in nodeLabels.enumerated() {
            let node: Int
            if let known = number[label] {
                node = known
            } else {
                node = nodes.count
                number[label] = node
                nodes.append([])
            }
            nodes[node].append(rank)
            nodeOfRank.append(node)
        }
        self.nodeOfRank = nodeOfRank
        self.nodes = nodes
    }

    /// `nodes` nodes of `ranksPerNode` consecutive ranks each (Open MPI's default `--map-by slot`).
    public static func blocks(nodes: Int, ranksPerNode: Int) -> NodeLayout {
        precondition(nodes >= 1 && ranksPerNode >= 1, "a layout needs at least one node and one rank per node")
        return NodeLayout(nodeLabels: (0..<nodes * ranksPerNode).map { $0 / ranksPerNode })
    }

    /// Every one of `size` ranks on one node.
    public static func singleNode(size: Int) -> NodeLayout { blocks(nodes: 1, ranksPerNode: size) }

    public var size: Int { nodeOfRank.count }
    public var nodeCount: Int { nodes.count }
    /// The most ranks any node holds.
    public var ranksPerNode: Int { nodes.map(\.count).max() ?? 0 }
    /// Whether every node holds the same number of ranks (what `hierarchical` needs, so that
    /// every node cuts the buffer into the same shards).
    public var isUniform: Bool { nodes.allSatisfy { $0.count == nodes[0].count } }

    /// The ranks on `rank`'s node, seen from `rank`.
    func nodeGroup(of rank: Int) -> RankGroup {
        RankGroup(ranks: nodes[nodeOfRank[rank]], me: rank)
    }

    /// The rank at `rank`'s local position on every node, in node order, seen from `rank`
    /// (uniform layouts only).
    func crossGroup(of rank: Int) -> RankGroup {
        let local = nodes[nodeOfRank[rank]].firstIndex(of: rank)!
        return RankGroup(ranks: nodes.map { $0[local] }, me: rank)
    }

    public var description: String {
        isUniform
            ? "\(nodeCount) node\(nodeCount == 1 ? "" : "s") × \(ranksPerNode) rank\(ranksPerNode == 1 ? "" : "s")"
            : "\(nodeCount) nodes of " + nodes.map { String($0.count) }.joined(separator: ", ") + " ranks"
    }
}
