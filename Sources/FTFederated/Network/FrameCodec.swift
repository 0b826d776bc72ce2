import Foundation
import NIOCore

/// One frame on a federation connection. A 17-byte header — kind (1 byte), tag (Int32), the
/// whole message's length (UInt64), this frame's payload length (UInt32), all big-endian — then
/// the payload. A message of n bytes travels as ⌈n / chunk_bytes⌉ `.chunk` frames in order (one
/// empty frame for n = 0), so no frame is ever larger than the chunk size whatever the adapter.
struct Frame: Sendable {
    enum Kind: UInt8, Sendable {
        /// Coordinator → site on connect: a fresh 32-byte nonce to sign.
        case challenge = 1
        /// Site → coordinator: JSON {site, federation_id, signature} answering the challenge.
        case hello = 2
        /// Coordinator → site: admitted.
        case welcome = 3
        /// Either way: refused, with the reason (UTF-8); the connection then closes.
        case refuse = 4
        /// Part of a message.
        case chunk = 5
        /// Keeps an idle connection alive (every heartbeat period without other traffic).
        case heartbeat = 6
        /// The receiver dropped a message (too large); the reason in UTF-8.
        case dropped = 7
    }

    var kind: Kind
    var tag: Int32 = 0
    var total: UInt64 = 0
    var payload: ByteBuffer

    static let headerBytes = 17

    static func control(_ kind: Kind, _ text: String = "") -> Frame {
        Frame(kind: kind, total: UInt64(text.utf8.count), payload: ByteBuffer(string: text))
    }

    var text: String { String(buffer: payload) }
}

/// Frames to and from bytes on a connection.
enum FrameCodec {
    /// The largest frame payload accepted (a peer announcing more is cut off).
    static let maxChunk = 16 << 20

    /// The frames of one message.
    static func frames(of bytes: [UInt8], tag: Int, chunkBytes: Int, allocator: ByteBufferAllocator) -> [Frame] {
        var frames: [Frame] = []
        var start = 0
        repeat {
            let end = min(bytes.count, start + chunkBytes)
            var buffer = allocator.buffer(capacity: end - start)
            buffer.writeBytes(bytes[start..<end])
            frames.append(Frame(kind: .chunk, tag: Int32(truncatingIfNeeded: tag), total: UInt64(bytes.count), payload: buffer))
            start = end
        } while start < bytes.count
        return frames
    }

    struct Decoder: ByteToMessageDecoder {
        typealias InboundOut = Frame

        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard buffer.readableBytes >= Frame.headerBytes else { return .needMoreData }
            let start = buffer.readerIndex
            guard let rawKind = buffer.getInteger(at: start, as: UInt8.self),
                let tag = buffer.getInteger(at: start + 1, as: Int32.self),
                let total = buffer.getInteger(at: start + 5, as: UInt64.self),
                let length = buffer.getInteger(at: start + 13, as: UInt32.self)
            else { return .needMoreData }
            guard let kind = Frame.Kind(rawValue: rawKind) else { throw FederationError(description: "unknown frame kind \(rawKind)") }
            guard Int(length) <= FrameCodec.maxChunk else {
                throw FederationError(description: "a frame of \(length) bytes, more than the \(FrameCodec.maxChunk) allowed")
            }
            guard buffer.readableBytes >= Frame.headerBytes + Int(length) else { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
            let payload = buffer.readSlice(length: Int(length))!
            context.fireChannelRead(wrapInboundOut(Frame(kind: kind, tag: tag, total: total, payload: payload)))
            return .continue
        }
    }

    struct Encoder: MessageToByteEncoder {
        typealias OutboundIn = Frame

        func encode(data frame: Frame, out: inout ByteBuffer) throws {
            out.writeInteger(frame.kind.rawValue)
            out.writeInteger(frame.tag)
            out.writeInteger(frame.total)
            out.writeInteger(UInt32(frame.payload.readableBytes))
            var payload = frame.payload
            out.writeBuffer(&payload)
        }
    }
}

/// Reassembles the messages of one connection from their chunks, refusing any larger than the
/// limit, and files whole ones in the mailbox.
struct MessageAssembler {
    let limit: Int
    private var partial: [Int32: [UInt8]] = [:]
    /// Messages over the limit still arriving: their announced length and the bytes skipped so far.
    private var refused: [Int32: UInt64] = [:]
    private var refusedSeen: [Int32: Int] = [:]

    init(limit: Int) { self.limit = limit }

    enum Outcome {
        case incomplete
        case message([UInt8])
        /// The first chunk of a message over the limit (reported once; its other chunks are skipped).
        case tooLarge(UInt64)
        case skipped
    }

    mutating func add(_ frame: Frame) throws -> Outcome {
        let tag = frame.tag, count = frame.payload.readableBytes
        if let total = refused[tag] {
            refusedSeen[tag, default: 0] += count
            if refusedSeen[tag]! >= Int(clamping: total) {
                refused[tag] = nil
                refusedSeen[tag] = nil
            }
            return .skipped
        }
        if frame.total > UInt64(limit) {
            if count < Int(clamping: frame.total) {
                refused[tag] = frame.total
                refusedSeen[tag] = count
            }
            return .tooLarge(frame.total)
        }
        var bytes = partial[frame.tag] ?? []
        if bytes.isEmpty { bytes.reserveCapacity(Int(frame.total)) }
        bytes.append(contentsOf: frame.payload.readableBytesView)
        guard bytes.count <= Int(frame.total) else {
            throw FederationError(description: "a message of tag \(frame.tag) ran past its announced \(frame.total) bytes")
        }
        if bytes.count == Int(frame.total) {
            partial[frame.tag] = nil
            return .message(bytes)
        }
        partial[frame.tag] = bytes
        return .incomplete
    }
}
