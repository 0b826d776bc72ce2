import Crypto
import FTCore
import FTDist
import Foundation

/// The coordinator's side of the rounds (rank 0): sample sites, send them the global adapter,
/// collect signed updates until the deadline, aggregate the ones that came (plain, with
/// differential privacy, or through secure aggregation), and hand each round to `onRound`
/// (which logs, evaluates and checkpoints).
public final class FederatedCoordinator {
    public let channel: any MessageTransport
    public let sites: [SiteDescriptor]
    public let settings: FederationSettings
    private let registry: SiteRegistry
    public private(set) var accountant = PrivacyAccountant()
    /// The server optimiser's moments (saved with the state; restored on resume).
    public internal(set) lazy var serverOptimizer = ServerOptimizer(settings: settings.serverOptimizer, learningRate: settings.serverLearningRate)
    /// Updates that missed their round's deadline: drained (and dropped) when they arrive.
    private var late: [(site: Int, round: Int)] = []

    public init(channel: any MessageTransport, sites: [SiteDescriptor], settings: FederationSettings, registry: SiteRegistry) {
        self.channel = channel
        self.sites = sites
        self.settings = settings
        self.registry = registry
    }

    /// Runs rounds `startRound ..< settings.rounds` from `initial`; returns the final global adapter.
    public func run(
        initial: AdapterUpdate, startRound: Int = 0,
        onRound: (RoundRecord, AdapterUpdate) throws -> Void = { _, _ in }
    ) throws -> AdapterUpdate {
        var global = initial
        for round in startRound..<settings.rounds {
            let (next, record) = try runRound(round, global: global)
            global = next
            try onRound(record, global)
        }
        try stopSites()
        return global
    }

    func runRound(_ round: Int, global: AdapterUpdate) throws -> (AdapterUpdate, RoundRecord) {
        try channel.awaitPeers(sites.map(\.rank), minimum: settings.minimumSites)
        let sentBefore = channel.bytesSent, receivedBefore = channel.bytesReceived
        let sampled = SiteSampler.sample(
            sites: sites.count, fraction: settings.siteFraction, minimum: settings.minimumSites,
            seed: settings.seed, round: round)
        // 1. The global adapter to the sampled sites; the others are told to sit this round out.
        //    A sampled site that is not connected now cannot get it (the message is dropped): it is
        //    named "not connected" at once, distinct from a site that got the round and sent nothing
        //    (and is not sent it at all, so that one reconnecting this instant does not train unheard).
        let participants = sampled.map(String.init).joined(separator: ",")
        var absent = Set<Int>()
        for (index, site) in sites.enumerated() {
            let chosen = sampled.contains(index)
            if chosen && !channel.isReachable(site.rank) {
                absent.insert(index)
                continue
            }
            let message = try AdapterCodec.encode(
                chosen ? global : AdapterUpdate(modules: [:], examples: 0),
                metadata: [
                    "kind": chosen ? "train" : "idle", "round": String(round),
                    "participants": participants,
                ])
            try channel.send(message, to: site.rank, tag: RoundTag.control)
        }

        // 2. Signed updates until the deadline.
        var pending = Set(sampled).subtracting(absent), payloads: [Int: [UInt8]] = [:], missing: [String: String] = [:]
        for index in absent { missing[sites[index].name] = "not connected when round \(round) started" }
        let deadline = Date(timeIntervalSinceNow: settings.roundDeadline)
        while !pending.isEmpty && Date() < deadline {
            var progressed = try drainLate()
            for index in pending.sorted() {
                guard let message = try channel.poll(from: sites[index].rank, tag: RoundTag.update(round)) else { continue }
                progressed = true
                pending.remove(index)
                do {
                    let payload = try Envelope.open(message, site: sites[index].name, round: round, registry: registry)
                    let metadata = try SafeTensorsFile(bytes: payload, name: "update from \(sites[index].name)").metadata
                    if metadata["kind"] == "failed" {
                        missing[sites[index].name] = "failed: " + (metadata["reason"] ?? "no reason given")
                    } else {
                        payloads[index] = payload
                    }
                } catch {
                    missing[sites[index].name] = "rejected: \(error)"
                }
            }
            if !progressed { usleep(1000) }
        }
        for index in pending {
            let away = channel.isReachable(sites[index].rank) ? "" : " (disconnected during the round)"
            missing[sites[index].name] = "no update within the \(String(format: "%g", settings.roundDeadline)) s deadline" + away
            late.append((index, round))
        }
        let reported = payloads.keys.sorted()
        guard reported.count >= settings.minimumSites else {
            let why = missing.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            throw FederationError(
                description: "round \(round): \(reported.count) of \(sampled.count) sampled sites sent a usable update, "
                    + "fewer than min_sites \(settings.minimumSites) (\(why))")
        }

        // 3. Aggregate.
        let vector = UpdateVector(mode: settings.mode, global: global)
        var mean: [Double], examples: Int
        if settings.secureAggregation {
            (mean, examples) = try unmask(payloads, sampled: sampled, round: round, count: vector.count)
        } else if settings.privacy != nil {
            var sum = [Double](repeating: 0, count: vector.count)
            for index in reported {
                let update = try SafeTensorsFile(bytes: payloads[index]!, name: "update from \(sites[index].name)").floats("update")
                guard update.count == vector.count else {
                    throw AggregationError.mismatch("\(sites[index].name) sent \(update.count) values, not \(vector.count)")
                }
                for i in sum.indices { sum[i] += Double(update[i]) }
            }
            mean = sum.map { $0 / Double(reported.count) }
            examples = reported.count
        } else {
            // Plain FedAvg: the adapters themselves travel; weights are the example counts.
            var sum = [Double](repeating: 0, count: vector.count)
            examples = 0
            for index in reported {
                let (local, _) = try AdapterCodec.decode(payloads[index]!, source: "update from \(sites[index].name)")
                let delta = try vector.delta(local)
                for i in sum.indices { sum[i] += Double(local.examples) * Double(delta[i]) }
                examples += local.examples
            }
            guard examples > 0 else { throw FederationError(description: "round \(round): the reporting sites trained on 0 examples") }
            mean = sum.map { $0 / Double(examples) }
        }
        let next = try vector.apply(meanDelta: try serverOptimizer.step(mean), examples: examples)

        var epsilon: Double?
        if let privacy = settings.privacy {
            // Each sampled site added 1/m of the noise variance; with k of m reporting the sum carries k/m of it.
            let effective = privacy.noiseMultiplier * (Double(reported.count) / Double(sampled.count)).squareRoot()
            accountant.record(samplingRate: Double(sampled.count) / Double(sites.count), noiseMultiplier: effective)
            epsilon = accountant.epsilon(delta: privacy.delta).epsilon
        }
        func perSite(_ after: [Int: Int], _ before: [Int: Int]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: sites.map { ($0.name, after[$0.rank, default: 0] - before[$0.rank, default: 0]) })
        }
        let record = RoundRecord(
            round: round, sampled: sampled.map { sites[$0].name }, reported: reported.map { sites[$0].name },
            missing: missing, bytesSent: perSite(channel.bytesReceived, receivedBefore),
            bytesReceived: perSite(channel.bytesSent, sentBefore), mode: settings.mode.rawValue,
            epsilon: epsilon)
        return (next, record)
    }

    /// Continues the privacy accounting of a resumed federation.
    public func restorePrivacy(rdp: [Double], rounds: Int) {
        accountant = PrivacyAccountant(rdp: rdp, rounds: rounds)
    }

    /// Tells every site the federation is over.
    public func stopSites() throws {
        let stop = try AdapterCodec.encode(AdapterUpdate(modules: [:], examples: 0), metadata: ["kind": "stop"])
        for site in sites { try channel.send(stop, to: site.rank, tag: RoundTag.control) }
    }

    /// Secure aggregation: the sum of the masked vectors, corrected for the masks of sampled sites
    /// that dropped out (each reporter sends the sum of its masks with them), then unscaled.
    private func unmask(_ payloads: [Int: [UInt8]], sampled: [Int], round: Int, count: Int) throws -> ([Double], Int) {
        let reported = payloads.keys.sorted()
        let dropped = sampled.filter { payloads[$0] == nil }
        var vectors: [[UInt64]] = []
        for index in reported {
            let file = try SafeTensorsFile(bytes: payloads[index]!, name: "update from \(sites[index].name)")
            vectors.append(try Self.words(file, "masked", count: count + 1, site: sites[index].name))
        }
        var total = SecureAggregation.sum(vectors)
        // Every sampled site learns who dropped; reporters answer with their masks for those.
        let notice = try AdapterCodec.encode(
            AdapterUpdate(modules: [:], examples: 0),
            metadata: ["kind": "dropped", "dropped": dropped.map(String.init).joined(separator: ",")])
        for index in sampled { try channel.send(notice, to: sites[index].rank, tag: RoundTag.dropped(round)) }
        if !dropped.isEmpty {
            for index in reported {
                guard
                    let message = try channel.receive(
                        from: sites[index].rank, tag: RoundTag.correction(round),
                        timeout: settings.roundDeadline)
                else {
                    throw FederationError(description: "round \(round): \(sites[index].name) sent no mask correction for the sites that dropped out")
                }
                let payload = try Envelope.open(message, site: sites[index].name, round: round, registry: registry)
                let correction = try Self.words(
                    SafeTensorsFile(bytes: payload, name: "correction from \(sites[index].name)"),
                    "correction", count: count + 1, site: sites[index].name)
                for i in total.indices { total[i] = total[i] &- correction[i] }
            }
        }
        let decoded = SecureAggregation.decode(total)
        let weight = decoded[count]
        guard weight > 0 else { throw FederationError(description: "round \(round): the secured weights sum to \(weight)") }
        return (decoded[0..<count].map { $0 / weight }, Int(weight.rounded()))
    }

    static func words(_ file: SafeTensorsFile, _ name: String, count: Int, site: String) throws -> [UInt64] {
        guard let info = file.info(name), info.dtype == .I64, info.elementCount == count else {
            throw AggregationError.mismatch("\(site) sent no \(name) vector of \(count) 64-bit words")
        }
        return try file.withRawBytes(name) { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
    }

    /// Receives and discards updates that arrived after their round's deadline (a blocked sender
    /// would otherwise wait for ever); true when one was drained.
    private func drainLate() throws -> Bool {
        var drained = false
        late.removeAll { entry in
            guard let message = try? channel.poll(from: sites[entry.site].rank, tag: RoundTag.update(entry.round)) else { return false }
            _ = message
            drained = true
            return true
        }
        return drained
    }
}
