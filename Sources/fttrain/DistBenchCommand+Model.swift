import FTDist
import Foundation

extension DistBenchCommand {
    /// MiniLM's gradient: full fine-tuning averages all 22.7 M floats (90.8 MB), LoRA r 8 on
    /// query and value with a 3-class head 74,883 floats (300 KB) — the README's figures.
    static let workloads: [(name: String, floats: Int)] = [("MiniLM full fine-tuning", 22_700_000), ("MiniLM LoRA r 8", 74_883)]
    static let rankCounts = [8, 64, 512, 1024]

    /// `--model`: for each workload and network (10 / 100 Gbit/s, 5 / 30 µs), the modelled step
    /// time and weak-scaling efficiency of every algorithm at 8 … 1,024 ranks.
    func printScalingModel(base: AllReduceCostModel) {
        let k = modelRanksPerNode
        print("Modelled data-parallel step (weak scaling, DDP buckets 1 + 25 MiB, overlapped with backward),")
        print("\(k) ranks per node; shared memory and additions: \(base.source).")
        print("Cells: step time, efficiency (compute / step), and the step's all-reduce time (hidden by the overlap where it fits).")
        print("Horovod (Sergeev & Del Balso 2018) reports 90% scaling efficiency at 512 GPUs.")
        for (name, floats) in Self.workloads {
            let compute = name.contains("LoRA") ? loraStepSeconds : fullStepSeconds
            let step = StepTimeModel(computeSeconds: compute, gradientBytes: 4 * floats)
            for gigabits in [10.0, 100.0] {
                for latency in [5e-6, 30e-6] {
                    var model = base
                    model.network = .init(alpha: latency, beta: 8 / (gigabits * 1e9))
                    print("")
                    print(
                        String(
                            format: "%@ (%.2f MB, compute %.0f ms), %.0f Gbit/s, %.0f µs:", name, Double(4 * floats) / 1e6, compute * 1e3, gigabits,
                            latency * 1e6))
                    print("| algorithm | " + Self.rankCounts.map { "\($0) ranks" }.joined(separator: " | ") + " |")
                    print("|---|" + String(repeating: "---|", count: Self.rankCounts.count))
                    for algorithm in [AllReduceAlgorithm.ring, .halvingDoubling, .hierarchical, .auto] {
                        let cells = Self.rankCounts.map { ranks -> String in
                            let layout = AllReduceCostModel.Layout(nodes: max(1, ranks / k), ranksPerNode: min(k, ranks))
                            let seconds = step.stepSeconds(costModel: model, algorithm: algorithm, layout: layout)
                            let communication = step.bucketBytes.reduce(0.0) {
                                $0 + model.predictedSeconds(algorithm, bytes: $1, layout: layout)
                            }
                            return String(format: "%.0f ms, %.0f%% (all-reduce %.1f ms)", seconds * 1e3, 100 * compute / seconds, communication * 1e3)
                        }
                        print("| \(algorithm.rawValue) | " + cells.joined(separator: " | ") + " |")
                    }
                }
            }
        }
    }
}
