import HubBytes
import HubCore
import WebSocket

/// A published outcome encoded once: the JSON envelope and its WebSocket text frame, shared by
/// every subscriber on every loop (immutable, so safe to hand across threads).
public final class SharedOutcome: Sendable {
    public let outcome: Outcome
    /// `{"type":"outcome",…}`: SSE data, long-poll body.
    public let envelope: [UInt8]
    /// The envelope as one unmasked, uncompressed text frame (valid on any connection, deflate or not).
    public let textFrame: OutboundBytes

    public init(_ outcome: Outcome) {
        self.outcome = outcome
        envelope = outcome.envelope()
        textFrame = FrameEncoder.frame(.text, payload: envelope)
    }
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
