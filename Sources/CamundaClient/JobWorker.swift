// A job worker on the client: long-polled activation for free slots only, one task per job, and
// the handler's decision sent back to the engine (complete, fail with retries and back-off, or
// throw a BPMN error). The hub's outcome worker and the demo's service workers are both this.
//
//   loop: free = maxJobs − in flight ─▶ activateJobs(free, long poll) ─▶ per job: handler ─▶ command
//   activation error ─▶ jittered back-off 0.25 s … 30 s ─▶ again
import HubBytes
import Synchronization

/// What a job handler decided.
public enum JobOutcome: Sendable {
    case complete([String: JSONValue] = [:])
    /// Offered again after `backOff` while `retries` > 0; else the engine raises an incident.
    case fail(retries: Int, message: String, backOff: Duration = .zero)
    case bpmnError(code: String, message: String, variables: [String: JSONValue] = [:])
    /// Nothing now: the job stays activated and is answered later by someone else (an HTTP
    /// callback), or times out and is offered again.
    case leaveOpen
}

/// Counters of one worker.
public final class JobWorkerStats: Sendable {
    public let activated = Atomic<Int>(0)
    public let completed = Atomic<Int>(0)
    public let failed = Atomic<Int>(0)
    public let errorsThrown = Atomic<Int>(0)
    /// Activation requests that failed (engine unreachable, refused).
    public let pollErrors = Atomic<Int>(0)
    /// Commands (complete/fail/error) the engine did not take; the job comes back after its timeout.
    public let commandErrors = Atomic<Int>(0)
    public init() {}
}

/// Runs `handler` for every job of `type`, at most `maxJobs` at once.
public final class JobWorker: Sendable {
    public struct Options: Sendable {
        public var type: String
        /// Recorded by the engine on activated jobs.
        public var name: String
        public var maxJobs = 32
        /// How long the engine leaves a job to this worker before offering it to another.
        public var jobTimeout: Duration = .seconds(30)
        /// Long-poll duration of one activation request.
        public var pollTimeout: Duration = .seconds(20)
        /// Variables to fetch (nil: all).
        public var fetchVariables: [String]?
        public init(type: String, name: String) { self.type = type; self.name = name }
    }

    public let options: Options
    public let stats: JobWorkerStats
    private let client: CamundaClient
    private let handler: @Sendable (ActivatedJob) async -> JobOutcome
    private let onError: @Sendable (String, Error) -> Void
    private let inFlight = Atomic<Int>(0)
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// `onError(what, error)` hears about failed activations and commands (for logs); `stats` may
    /// be shared with whoever exports them.
    public init(client: CamundaClient, options: Options, stats: JobWorkerStats = JobWorkerStats(),
                onError: @escaping @Sendable (String, Error) -> Void = { _, _ in },
                handler: @escaping @Sendable (ActivatedJob) async -> JobOutcome) {
        self.client = client; self.options = options; self.stats = stats; self.onError = onError; self.handler = handler
    }

    public func start() {
        task.withLock { current in
            guard current == nil else { return }
            current = Task { await self.pollLoop() }
        }
    }

    /// Stops activating; jobs already taken finish (or time out and go to another worker).
    public func stop() { task.withLock { $0?.cancel() } }

    private func pollLoop() async {
        var errors = 0
        while !Task.isCancelled {
            let free = options.maxJobs - inFlight.load(ordering: .acquiring)
            if free <= 0 {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            do {
                let jobs = try await client.activateJobs(type: options.type, worker: options.name, timeout: options.jobTimeout,
                                                         maxJobsToActivate: free, fetchVariables: options.fetchVariables,
                                                         requestTimeout: options.pollTimeout)
                errors = 0
                stats.activated.add(jobs.count, ordering: .relaxed)
                for job in jobs {
                    inFlight.add(1, ordering: .acquiringAndReleasing)
                    Task {
                        await self.run(job)
                        self.inFlight.subtract(1, ordering: .acquiringAndReleasing)
                    }
                }
            } catch {
                if Task.isCancelled || error is CancellationError { return }
                errors += 1
                stats.pollErrors.add(1, ordering: .relaxed)
                onError("activating \(options.type) jobs", error)
                let ceiling = min(30_000, 250 * (1 << min(errors, 7)))
                try? await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
            }
        }
    }

    private func run(_ job: ActivatedJob) async {
        let decision = await handler(job)
        do {
            switch decision {
            case .complete(let variables):
                try await client.completeJob(job.jobKey, variables: variables)
                stats.completed.add(1, ordering: .relaxed)
            case .fail(let retries, let message, let backOff):
                stats.failed.add(1, ordering: .relaxed)
                try await client.failJob(job.jobKey, retries: retries, errorMessage: message, retryBackOff: backOff)
            case .bpmnError(let code, let message, let variables):
                stats.errorsThrown.add(1, ordering: .relaxed)
                try await client.throwError(job.jobKey, errorCode: code, errorMessage: message, variables: variables)
            case .leaveOpen:
                break
            }
        } catch {
            stats.commandErrors.add(1, ordering: .relaxed)
            onError("answering job \(job.jobKey)", error)
        }
    }
}
