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
import Foundation
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
    public let activated = Atomic<Int>(0)
    public let completed = Atomic<Int>(0)
    public let duplicates = Atomic<Int>(0)
    public let failed = Atomic<Int>(0)
    public let pollErrors = Atomic<Int>(0)
    public init() {}

    public var prometheusText: String {
        """
        # HELP affinity_worker_jobs_total Outcome worker jobs by result.
        # TYPE affinity_worker_jobs_total counter
        affinity_worker_jobs_total{result="activated"} \(activated.load(ordering: .relaxed))
        affinity_worker_jobs_total{result="completed"} \(completed.load(ordering: .relaxed))
        affinity_worker_jobs_total{result="duplicate"} \(duplicates.load(ordering: .relaxed))
        affinity_worker_jobs_total{result="failed"} \(failed.load(ordering: .relaxed))
        # HELP affinity_worker_poll_errors_total Job activation requests that failed.
        # TYPE affinity_worker_poll_errors_total counter
        affinity_worker_poll_errors_total \(pollErrors.load(ordering: .relaxed))

        """
    }
}

/// Takes `publish-outcome` jobs and turns them into stored, delivered outcomes.
public final class OutcomeWorker: Sendable {
    public let config: OutcomeWorkerConfig
    public let stats = OutcomeWorkerStats()
    private let engine: CamundaClient
    private let hub: Hub
    private let logger: Logger
    private let inFlight = Atomic<Int>(0)
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(engine: CamundaClient, hub: Hub, config: OutcomeWorkerConfig = OutcomeWorkerConfig(), logger: Logger) {
        self.engine = engine; self.hub = hub; self.config = config; self.logger = logger
    }

    public func start() {
        task.withLock { current in
            guard current == nil else { return }
            current = Task { await self.pollLoop() }
        }
    }

    /// Stops polling; jobs already taken finish (or time out and go to another worker).
    public func stop() {
        task.withLock { $0?.cancel() }
    }

    private func pollLoop() async {
        var errors = 0
        while !Task.isCancelled {
            let free = config.maxConcurrentJobs - inFlight.load(ordering: .acquiring)
            if free <= 0 {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            do {
                let jobs = try await engine.activateJobs(type: config.jobType, worker: config.workerName, timeout: config.jobTimeout,
                                                         maxJobsToActivate: free, requestTimeout: config.pollTimeout)
                errors = 0
                stats.activated.add(jobs.count, ordering: .relaxed)
                for job in jobs {
                    inFlight.add(1, ordering: .acquiringAndReleasing)
                    Task {
                        await self.handle(job)
                        self.inFlight.subtract(1, ordering: .acquiringAndReleasing)
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                errors += 1
                stats.pollErrors.add(1, ordering: .relaxed)
                let delay = min(30_000, 250 * (1 << min(errors, 7)))
                logger.warning("job activation failed; retrying", metadata: ["error": "\(error)", "retry_in_ms": "\(delay)"])
                try? await Task.sleep(for: .milliseconds(Int.random(in: delay / 2...delay)))
            }
        }
    }

    func handle(_ job: ActivatedJob) async {
        let request: PublishRequest
        switch OutcomeMapping.request(for: job, maxDataBytes: hub.config.maxDataBytes) {
        case .failure(let problem):
            // The model or its variables are wrong: retrying cannot help; an incident tells the operator.
            logger.error("publish-outcome job refused", metadata: ["job": "\(job.jobKey)", "reason": "\(problem)"])
            stats.failed.add(1, ordering: .relaxed)
            try? await engine.failJob(job.jobKey, retries: 0, errorMessage: "affinity-hub: \(problem)")
            return
        case .success(let r): request = r
        }
        switch await hub.publishStored(request) {
        case .success(let published):
            if published.duplicate { stats.duplicates.add(1, ordering: .relaxed) }
            if config.holdBeforeCompletion > .zero { try? await Task.sleep(for: config.holdBeforeCompletion) }
            do {
                try await engine.completeJob(job.jobKey)
                stats.completed.add(1, ordering: .relaxed)
                logger.debug("outcome published", metadata: ["key": "\(published.outcome.key.value)", "seq": "\(published.outcome.seq)", "job": "\(job.jobKey)"])
            } catch {
                // The outcome is stored; the job comes back after its timeout and is recognised by its key.
                logger.warning("could not complete job after publishing", metadata: ["job": "\(job.jobKey)", "error": "\(error)"])
            }
        case .failure(let error):
            stats.failed.add(1, ordering: .relaxed)
            let attempt = max(0, 3 - job.retries)
            let backOff = min(Duration.seconds(60), config.failureBackOff * (1 << min(attempt, 6)))
            logger.warning("outcome not stored; failing job for a retry", metadata: ["job": "\(job.jobKey)", "error": "\(error.message)", "retries_left": "\(job.retries - 1)"])
            try? await engine.failJob(job.jobKey, retries: job.retries - 1, errorMessage: "affinity-hub could not store the outcome: \(error.message)", retryBackOff: backOff)
        }
    }
}
