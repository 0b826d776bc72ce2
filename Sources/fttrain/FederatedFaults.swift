import FTFederated
import Foundation

/// Faults a test can inject into `fttrain federated join` through `FTTRAIN_FEDERATED_FAULT`
/// (scripts/federated_network_check.sh; never set in real use): a misbehaving site, as the
/// coordinator sees it from round 1 on.
/// - `replay`: sends its previous round's signed update again instead of this round's;
/// - `forge`: sends its updates with a corrupted signature;
/// - `exit-in-round:N`: the process ends (exit 137, as if killed) when round N's adapter arrives.
final class FaultInjectingTransport: MessageTransport {
    private let inner: any MessageTransport
    private let fault: String
    private var previousUpdate: [UInt8]?

    /// The transport itself when no fault is asked for.
    static func wrap(_ transport: any MessageTransport, log: (String) -> Void) -> any MessageTransport {
        guard let fault = ProcessInfo.processInfo.environment["FTTRAIN_FEDERATED_FAULT"], !fault.isEmpty else { return transport }
        log("TEST FAULT INJECTED: \(fault)")
        return FaultInjectingTransport(inner: transport, fault: fault)
    }

    private init(inner: any MessageTransport, fault: String) {
        self.inner = inner
        self.fault = fault
    }

    var bytesSent: [Int: Int] { inner.bytesSent }
    var bytesReceived: [Int: Int] { inner.bytesReceived }

    func send(_ bytes: [UInt8], to peer: Int, tag: Int) throws {
        // Updates go on tag 1000 + 4·round + 1 (RoundTag.update).
        let round = (tag - 1000) / 4
        guard tag >= 1000, (tag - 1000) % 4 == 1 else { return try inner.send(bytes, to: peer, tag: tag) }
        defer { previousUpdate = bytes }  // round 0's too: round 1 replays it
        guard round >= 1 else { return try inner.send(bytes, to: peer, tag: tag) }
        var message = bytes
        switch fault {
        case "replay":
            message = previousUpdate ?? bytes
        case "forge":
            message[0] ^= 0x01
        default: break
        }
        try inner.send(message, to: peer, tag: tag)
    }

    func poll(from peer: Int, tag: Int) throws -> [UInt8]? {
        try inner.poll(from: peer, tag: tag).map(inspect)
    }

    func receiveWaiting(from peer: Int, tag: Int) throws -> [UInt8] {
        inspect(try inner.receiveWaiting(from: peer, tag: tag))
    }

    func awaitPeers(_ peers: [Int], minimum: Int) throws { try inner.awaitPeers(peers, minimum: minimum) }
    func isReachable(_ peer: Int) -> Bool { inner.isReachable(peer) }

    private func inspect(_ message: [UInt8]) -> [UInt8] {
        if fault.hasPrefix("exit-in-round:"), let round = Int(fault.dropFirst("exit-in-round:".count)),
            let metadata = try? AdapterCodec.decode(message, source: "fault").metadata,
            metadata["kind"] == "train", metadata["round"] == String(round)
        {
            FileHandle.standardError.write("TEST FAULT: exiting in round \(round)\n".data(using: .utf8)!)
            exit(137)
        }
        return message
    }
}
