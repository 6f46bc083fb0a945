// The outcome worker embedded in the hub: takes the engine's `publish-outcome` jobs (service
// tasks, or `end` execution listeners on the process), turns each into an outcome, stores and
// delivers it, and only then completes the job.
//
//   activate (long poll, ≤ free slots) ─▶ per job: mapping ─▶ hub.publishStored (idempotent by job key)
//        ─▶ stored: complete job          ─▶ store refused: fail job with retries − 1 and back-off
//        ─▶ bad variables: fail job with 0 retries (an incident names the problem)
//
// Jobs are at-least-once: a job re-activated after a crash or timeout publishes with the same
// idempotency key, so subscribers never see it twice; the hub answers with the stored outcome
// and the worker completes the job.
import CamundaClient
import HubBytes
import HubCore
import HubServer
import Logging
import Synchronization

/// The worker's settings, with the reason for each default.
public struct OutcomeWorkerConfig: Sendable {
    /// The job type to take. Default `publish-outcome`.
    public var jobType = "publish-outcome"
    /// Worker name the engine records on activated jobs.
    public var workerName = "affinity-hub"
    /// Jobs handled at once; activation asks only for free slots.
    public var maxConcurrentJobs = 32
    /// How long the engine leaves an activated job to this worker before offering it again.
    public var jobTimeout: Duration = .seconds(30)
    /// Long-poll duration of one activation request.
    public var pollTimeout: Duration = .seconds(20)
    /// Back-off before a failed job is offered again (doubles with each failed attempt, ≤ 60 s).
    public var failureBackOff: Duration = .seconds(1)
    /// Test hook: hold a job this long after its outcome is stored, before completing it, so a
    /// test can kill the hub between the two. Zero in production.
    public var holdBeforeCompletion: Duration = .zero
    public init() {}
}

/// The worker's counters, exported in `/metrics`.
public final class OutcomeWorkerStats: Sendable {
    let jobs: JobWorkerStats
    public let duplicates = Atomic<Int>(0)
    init(_ jobs: JobWorkerStats) { self.jobs = jobs }

    public var activated: Int { jobs.activated.load(ordering: .relaxed) }
    public var completed: Int { jobs.completed.load(ordering: .relaxed) }
    public var failed: Int { jobs.failed.load(ordering: .relaxed) }

    /// The counters, for `ExportedMetrics` (see docs/metrics.md).
    public func samples() -> [ExportedMetrics.Sample] {
        [
            .counter("affinity_worker_jobs_total", [("result", "activated")], activated),
            .counter("affinity_worker_jobs_total", [("result", "completed")], completed),
            .counter("affinity_worker_jobs_total", [("result", "duplicate")], duplicates.load(ordering: .relaxed)),
            .counter("affinity_worker_jobs_total", [("result", "failed")], failed),
            .counter("affinity_worker_poll_errors_total", jobs.pollErrors.load(ordering: .relaxed)),
            .counter("affinity_worker_command_errors_total", jobs.commandErrors.load(ordering: .relaxed)),
        ]
    }
}

/// Takes `publish-outcome` jobs and turns them into stored, delivered outcomes.
public final class OutcomeWorker: Sendable {
    public let config: OutcomeWorkerConfig
    public let stats: OutcomeWorkerStats
    private let hub: Hub
    private let logger: Logger
    private let worker = Mutex<JobWorker?>(nil)
    private let engine: CamundaClient

    public init(engine: CamundaClient, hub: Hub, config: OutcomeWorkerConfig = OutcomeWorkerConfig(), logger: Logger) {
        self.engine = engine; self.hub = hub; self.config = config; self.logger = logger
        stats = OutcomeWorkerStats(JobWorkerStats())
    }

    public func start() {
        worker.withLock { current in
            guard current == nil else { return }
            var options = JobWorker.Options(type: config.jobType, name: config.workerName)
            options.maxJobs = config.maxConcurrentJobs
            options.jobTimeout = config.jobTimeout
            options.pollTimeout = config.pollTimeout
            let logger = self.logger
            let w = JobWorker(client: engine, options: options, stats: stats.jobs, onError: { what, error in
                logger.warning("outcome worker: \(what) failed", metadata: ["error": "\(error)"])
            }, handler: { [self] job in await self.handle(job) })
            w.start()
            current = w
        }
    }

    /// Stops polling; jobs already taken finish (or time out and go to another worker).
    public func stop() { worker.withLock { $0?.stop() } }

    func handle(_ job: ActivatedJob) async -> JobOutcome {
        let request: PublishRequest
        switch OutcomeMapping.request(for: job, maxDataBytes: hub.config.maxDataBytes) {
        case .failure(let problem):
            // The model or its variables are wrong: retrying cannot help; an incident tells the operator.
            logger.error("publish-outcome job refused", metadata: ["job": "\(job.jobKey)", "reason": "\(problem)"])
            return .fail(retries: 0, message: "affinity-hub: \(problem)")
        case .success(let r): request = r
        }
        switch await hub.publishStored(request) {
        case .success(let published):
            if published.duplicate { stats.duplicates.add(1, ordering: .relaxed) }
            if config.holdBeforeCompletion > .zero { try? await Task.sleep(for: config.holdBeforeCompletion) }
            logger.debug("outcome published", metadata: ["key": "\(published.outcome.key.value)", "seq": "\(published.outcome.seq)", "job": "\(job.jobKey)"])
            // If the completion is lost, the job comes back after its timeout and is recognised by its key.
            return .complete()
        case .failure(let error):
            let attempt = max(0, 3 - job.retries)
            let backOff = min(Duration.seconds(60), config.failureBackOff * (1 << min(attempt, 6)))
            logger.warning("outcome not stored; failing job for a retry", metadata: ["job": "\(job.jobKey)", "error": "\(error.message)", "retries_left": "\(job.retries - 1)"])
            return .fail(retries: job.retries - 1, message: "affinity-hub could not store the outcome: \(error.message)", backOff: backOff)
        }
    }
}
