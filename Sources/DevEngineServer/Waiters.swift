// Long polls waiting in the dev engine: job activations and awaitCompletion creations.
import HTTP1
import HubServer
import Reactor
import Synchronization

struct ActivationWaiter: Sendable {
    let box: ExchangeHandle
    let type: String
    let worker: String
    let timeoutMs: Int64
    let max: Int
    let fetchVariables: [String]?
    let deadlineMs: Int64
}

struct CompletionWaiter: Sendable {
    let box: ExchangeHandle
    let fetchVariables: [String]?
    let deadlineMs: Int64
}
