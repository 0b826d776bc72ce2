import FTDist
import FTTrain
import Foundation

/// `fttrain tune` over several ranks: the world is cut into groups of `ranksPerTrial` ranks (each
/// its own communicator from `split`), every group runs one trial at a time, data-parallel inside.
/// Rank 0 holds the `Study`; the other groups' leaders (their rank 0) ask it over the world
/// communicator for the next trial, for each ASHA decision and to record an ended trial. Rank 0
/// answers between its own training steps (`TrainingRun.stepObserver`) and, once it has no
/// trial left to run, until every leader has been told the study is done.
///
/// Messages are JSON sent as one float per byte after a one-float length: requests with tags
/// 7101/7102, replies with 7103/7104 (never mixed with the groups' own traffic, which uses the
/// group communicators).
public final class TuneGroups {
    public let world: any Communicator
    public let group: any Communicator
    public let ranksPerTrial: Int
    /// Rank 0 only.
    private let study: Study?
    private var doneLeaders: Set<Int> = []
    private var leaders: [Int] { stride(from: ranksPerTrial, to: world.size, by: ranksPerTrial).map { $0 } }

    static let requestLength = 7101, requestBody = 7102, replyLength = 7103, replyBody = 7104

    /// Collective over `world`: splits it into groups of `ranksPerTrial`.
    /// - Parameter study: rank 0's study (nil elsewhere).
    public init(world: any Communicator, ranksPerTrial: Int, study: Study?, split: (Int, Int) throws -> any Communicator) throws {
        guard ranksPerTrial >= 1, world.size % ranksPerTrial == 0 else {
            throw CommunicatorError(
                .invalidArgument, operation: "fttrain tune",
                message: "--ranks-per-trial \(ranksPerTrial) does not divide the \(world.size) ranks")
        }
        self.world = world
        self.ranksPerTrial = ranksPerTrial
        self.study = study
        group = try split(world.rank / ranksPerTrial, world.rank)
    }

    /// Runs trials until the study has none left (every rank calls it).
    public func run(_ runner: TrialRunner, log: @escaping (String) -> Void) throws {
        let trainingWorld = CommunicatorWorld(communicator: group)
        let leader = group.rank == 0
        while true {
            var assignment: TrialAssignment? = nil
            if leader { assignment = try claim() }
            assignment = try shareInGroup(assignment)
            guard let assignment else { break }
            let number = assignment.number
            let record = try runner.run(
                assignment, world: trainingWorld,
                decide: { [self] evaluation, value in
                    var stop: [Float] = [0]
                    if leader { stop[0] = try self.report(trial: number, evaluation: evaluation, value: value) ? 1 : 0 }
                    if group.size > 1 { try group.broadcast(&stop, root: 0) }
                    return stop[0] > 0
                },
                prepare: { [self] run in
                    if world.rank == 0 { run.stepObserver = { _ in try self.serve() } }
                }, log: log)
            if leader { try finish(record) }
        }
        guard world.rank == 0 else { return }
        while doneLeaders.count < leaders.count {
            if let signal = PreemptionSignal.requested { throw TrainingInterrupted(signal: signal, step: 0, checkpoint: "") }
            if try !serve() { usleep(5000) }
        }
    }

    // MARK: - A leader's requests (rank 0 answers its own directly)

    private func claim() throws -> TrialAssignment? {
        if let study { return study.claim() }
        let reply = try ask(["kind": "claim"])
        guard let number = reply["trial"] as? Int, let params = reply["params"] as? [String: Any] else { return nil }
        return TrialAssignment(number: number, parameters: params.compactMapValues(ParameterValue.init(jsonObject:)))
    }

    private func report(trial number: Int, evaluation: Int, value: Double) throws -> Bool {
        if let study { return study.report(trial: number, evaluation: evaluation, value: value) }
        let reply = try ask([
            "kind": "report", "trial": number, "evaluation": evaluation, "value": value.isFinite ? value : -Double.greatestFiniteMagnitude,
        ])
        return reply["prune"] as? Bool ?? false
    }

    private func finish(_ record: TrialRecord) throws {
        if let study {
            try study.finish(record)
            try study.writeSummary()
            return
        }
        _ = try ask(["kind": "finish", "record": record.jsonObject])
    }

    private func ask(_ request: [String: Any]) throws -> [String: Any] {
        try send(request, to: 0, tags: (Self.requestLength, Self.requestBody))
        return try receive(from: 0, tags: (Self.replyLength, Self.replyBody))
    }

    // MARK: - Rank 0's service

    /// Answers every request that has arrived; false when there was none.
    @discardableResult
    func serve() throws -> Bool {
        guard let study else { return false }
        var served = false
        for peer in leaders {
            while try world.probe(from: peer, tag: Self.requestLength) != nil {
                served = true
                let request = try receive(from: peer, tags: (Self.requestLength, Self.requestBody))
                var reply: [String: Any] = [:]
                switch request["kind"] as? String {
                case "claim":
                    if let a = study.claim() {
                        reply = ["trial": a.number, "params": a.parameters.mapValues(\.jsonObject)]
                    } else {
                        reply = ["done": true]
                        doneLeaders.insert(peer)
                    }
                case "report":
                    let number = request["trial"] as? Int ?? -1, evaluation = request["evaluation"] as? Int ?? 0
                    reply = ["prune": study.report(trial: number, evaluation: evaluation, value: request["value"] as? Double ?? .nan)]
                case "finish":
                    let line = try JSONSerialization.data(withJSONObject: request["record"] ?? [String: Any]())
                    let record = try TrialRecord(jsonLine: String(decoding: line, as: UTF8.self), source: "rank \(peer)", line: 1)
                    try study.finish(record)
                    try study.writeSummary()
                    reply = ["ok": true]
                default:
                    reply = ["error": "unknown request"]
                }
                try send(reply, to: peer, tags: (Self.replyLength, Self.replyBody))
            }
        }
        return served
    }

    // MARK: - Bytes as floats

    private func send(_ object: [String: Any], to peer: Int, tags: (Int, Int)) throws {
        let bytes = try [UInt8](JSONSerialization.data(withJSONObject: object))
        let length: [Float] = [Float(bytes.count)]
        let body = bytes.map(Float.init)
        try world.send(length, count: 1, to: peer, tag: tags.0)
        try body.withUnsafeBufferPointer { try world.send($0.baseAddress!, count: body.count, to: peer, tag: tags.1) }
    }

    private func receive(from peer: Int, tags: (Int, Int)) throws -> [String: Any] {
        var length: [Float] = [0]
        try world.receive(&length, count: 1, from: peer, tag: tags.0)
        var body = [Float](repeating: 0, count: Int(length[0]))
        try body.withUnsafeMutableBufferPointer { try world.receive($0.baseAddress!, count: $0.count, from: peer, tag: tags.1) }
        let data = Data(body.map { UInt8($0) })
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CommunicatorError(.transport, operation: "fttrain tune", message: "rank \(peer) sent a message that is not a JSON object")
        }
        return object
    }

    /// The leader's assignment (or nil: done) to every rank of the group.
    private func shareInGroup(_ assignment: TrialAssignment?) throws -> TrialAssignment? {
        guard group.size > 1 else { return assignment }
        var bytes: [UInt8] = []
        if group.rank == 0, let a = assignment {
            bytes = try [UInt8](JSONSerialization.data(withJSONObject: ["trial": a.number, "params": a.parameters.mapValues(\.jsonObject)]))
        }
        var length: [Float] = [Float(bytes.count)]
        try group.broadcast(&length, root: 0)
        guard length[0] > 0 else { return nil }
        var body = bytes.isEmpty ? [Float](repeating: 0, count: Int(length[0])) : bytes.map(Float.init)
        try group.broadcast(&body, root: 0)
        let object = try JSONSerialization.jsonObject(with: Data(body.map { UInt8($0) })) as? [String: Any] ?? [:]
        guard let number = object["trial"] as? Int, let params = object["params"] as? [String: Any] else { return nil }
        return TrialAssignment(number: number, parameters: params.compactMapValues(ParameterValue.init(jsonObject:)))
    }
}
