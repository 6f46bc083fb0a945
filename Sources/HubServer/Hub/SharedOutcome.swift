import HubBytes
import HubCore
import WebSocket

/// A published outcome encoded once: the JSON envelope and its WebSocket text frame, shared by
/// every subscriber on every loop (immutable, so safe to hand across threads).
public final class SharedOutcome: Sendable {
    public let outcome: Outcome
    /// The envelope as one unmasked, uncompressed text frame (valid on any connection, deflate or
    /// not), written in one pass into one buffer: WebSocket subscribers, the common case, cost
    /// no other copy.
    public let textFrame: OutboundBytes
    private let envelopeOffset: Int

    public init(_ outcome: Outcome) {
        self.outcome = outcome
        let count = outcome.envelopeCount
        let header = FrameEncoder.headerLength(payloadCount: count, masked: false)
        textFrame = OutboundBytes(capacity: header + count) { out in
            let h = FrameEncoder.writeHeader(into: out.baseAddress!, opcode: .text, fin: true, rsv1: false, payloadCount: count, mask: nil)
            return h + outcome.writeEnvelope(into: UnsafeMutableRawBufferPointer(rebasing: out[h...]))
        }
        envelopeOffset = header
    }

    /// `{"type":"outcome",…}` (SSE data, long-poll body): a copy out of the frame.
    public var envelope: [UInt8] { Array(textFrame.bytes[envelopeOffset...]) }
}

/// Receives outcomes on its loop: a WebSocket subscription, an SSE stream, a long-poll.
public protocol OutcomeSink: AnyObject {
    func deliver(_ outcome: SharedOutcome)
}

extension LoopContext {
    /// Ends a subscriber's interest in `key`: the hub stops listing it and this loop forgets its sink.
    func unsubscribe(_ subscriber: SubscriberRef, from key: OutcomeKey, hub: Hub) {
        hub.unsubscribe(subscriber, from: key)
        sinks[subscriber.id] = nil
    }
}
