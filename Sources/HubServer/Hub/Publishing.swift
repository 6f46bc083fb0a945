// Publishing from any interface: the publisher is answered only once the store says the outcome
// is safe (at once for the memory store, after the fsync of its batch for the durable log) or
// refused it. Store completions arrive on the store's thread and hop back to the publisher's loop.
import HubBytes
import HubCore
import Reactor

extension LoopContext {
    /// Publishes and calls `done` on this loop when the publisher may be answered.
    func publish(_ request: PublishRequest, via hub: Hub, done: @escaping (Result<PublishResult, HubError>) -> Void) {
        // The memory store answers inside the call, on this loop: no hop needed.
        guard !hub.answersAtOnce else { return done(hub.publishInMemory(request)) }
        let token = nextPendingToken
        nextPendingToken += 1
        pendingPublishes[token] = done
        let here = LoopRef(loop: loop, context: self)
        hub.publish(request) { result in
            here.execute { context in
                guard let done = context.pendingPublishes.removeValue(forKey: token) else { return }
                done(result)
            }
        }
    }
}

/// The publisher's answer: `{"key","seq","id","status","subscribers","duplicate"}`, written once
/// into bytes sized for it (the HTTP body as it is sent).
func publishReceiptBytes(_ r: PublishResult, extra: String = "") -> [UInt8] {
    let id = JSONText.quoted(r.outcome.id)
    var out: [UInt8] = []
    out.reserveCapacity(96 + extra.utf8.count + r.outcome.key.value.utf8.count + id.utf8.count)
    out.append(UInt8(ascii: "{"))
    out.append(contentsOf: extra.utf8)
    out.append(contentsOf: #""key":""#.utf8)
    out.append(contentsOf: r.outcome.key.value.utf8)
    out.append(contentsOf: #"","seq":"#.utf8)
    appendDecimal(r.outcome.seq, to: &out)
    out.append(contentsOf: #","id":"#.utf8)
    out.append(contentsOf: id.utf8)
    out.append(contentsOf: #","status":""#.utf8)
    out.append(contentsOf: r.outcome.status.rawValue.utf8)
    out.append(contentsOf: #"","subscribers":"#.utf8)
    appendDecimal(UInt64(r.subscribers.count + r.otherNodes), to: &out)
    out.append(contentsOf: r.duplicate ? #","duplicate":true}"#.utf8 : #","duplicate":false}"#.utf8)
    return out
}

func publishReceipt(_ r: PublishResult, extra: String = "") -> String {
    String(decoding: publishReceiptBytes(r, extra: extra), as: UTF8.self)
}

/// Appends `value` in decimal without an intermediate string.
func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
    var digits = 1, v = value
    while v >= 10 { v /= 10; digits += 1 }
    let start = out.count
    out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
    v = value
    for i in stride(from: start + digits - 1, through: start, by: -1) { out[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
}

extension Hub {
    /// Publishes from any thread and returns once the store holds the outcome (or refused it):
    /// the outcome worker completes a job only then.
    public func publishStored(_ request: PublishRequest) async -> Result<PublishResult, HubError> {
        await withCheckedContinuation { (c: CheckedContinuation<Result<PublishResult, HubError>, Never>) in
            publish(request) { c.resume(returning: $0) }
        }
    }
}
