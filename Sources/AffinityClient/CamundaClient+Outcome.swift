// "Start an instance and await its outcome": the engine client extended with the hub.
//
//   affinityKey = caller's or "pi-<random>" ─▶ hub.watch(key) (subscribed before the start: no race)
//   ─▶ createProcessInstance(variables + affinityKey) ─▶ hub.outcome(for: key, timeout)
//   ─▶ .finished(outcome) │ .pending(handle)  (timeout: the caller answers 202 + Location)
import CamundaClient
import HubBytes

/// Where an awaited workflow stands when the call returns.
public enum AwaitedOutcome: Sendable {
    /// The workflow published its terminal outcome in time.
    case finished(HubOutcome, instance: ProcessInstance)
    /// Not yet: keep the handle (its key) to poll, subscribe, or wait again.
    case pending(PendingOutcome)
}

/// A workflow whose outcome is still to come.
public struct PendingOutcome: Sendable {
    /// The outcome key: subscribe to it on the hub (`/v1/outcomes/{key}`), or wait again.
    public var key: String
    public var instance: ProcessInstance
    let hub: HubConnection

    /// Waits again.
    public func wait(timeout: Duration) async throws -> HubOutcome { try await hub.outcome(for: key, timeout: timeout) }
}

extension CamundaClient {
    /// Starts `processDefinitionId` and waits up to `timeout` for its terminal outcome via `hub`.
    /// The instance gets the variable `affinityKey` (yours, or a fresh random one), which the
    /// hub's outcome worker uses as the outcome key; the hub subscription is confirmed before the
    /// instance starts, so an outcome published at once is not missed. On timeout the result is
    /// `.pending` with the key, not an error.
    public func createProcessInstance(processDefinitionId: String, version: Int? = nil, variables: [String: JSONValue] = [:],
                                      awaitingOutcomeVia hub: HubConnection, timeout: Duration, affinityKey: String? = nil) async throws -> AwaitedOutcome {
        let key = affinityKey ?? "pi-" + (0..<4).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 36) }.joined()
        await hub.watch(key)
        // Register the waiter before starting, then start, then wait: nothing can slip between.
        async let outcome = hub.outcome(for: key, timeout: timeout)
        var vars = variables
        vars["affinityKey"] = .string(key)
        let instance: ProcessInstance
        do {
            instance = try await createProcessInstance(processDefinitionId: processDefinitionId, version: version, variables: vars)
        } catch {
            _ = try? await outcome
            throw error
        }
        do {
            return .finished(try await outcome, instance: instance)
        } catch HubClientError.timedOut {
            return .pending(PendingOutcome(key: key, instance: instance, hub: hub))
        }
    }
}
