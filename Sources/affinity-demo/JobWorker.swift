// A minimal job worker on the engine client: long-poll activation, bounded concurrency, complete
// or fail (with retries and back-off) or throw a BPMN error, as the handler decides.
import CamundaClient
import HubBytes
import Logging
import Synchronization

enum JobResult: Sendable {
    case complete([String: JSONValue])
    case bpmnError(code: String, message: String, variables: [String: JSONValue])
    case retry(String)
}

final class JobWorker: Sendable {
    let engine: CamundaClient
    let type: String
    let logger: Logger
    let handler: @Sendable (ActivatedJob) async -> JobResult
    let maxJobs = 16
    private let inFlight = Atomic<Int>(0)

    init(engine: CamundaClient, type: String, logger: Logger, handler: @escaping @Sendable (ActivatedJob) async -> JobResult) {
        self.engine = engine; self.type = type; self.logger = logger; self.handler = handler
    }

    func start() { Task { await self.loop() } }

    private func loop() async {
        while !Task.isCancelled {
            let free = maxJobs - inFlight.load(ordering: .acquiring)
            guard free > 0 else { try? await Task.sleep(for: .milliseconds(5)); continue }
            do {
                let jobs = try await engine.activateJobs(type: type, worker: "demo-\(type)", timeout: .seconds(30), maxJobsToActivate: free, requestTimeout: .seconds(10))
                for job in jobs {
                    inFlight.add(1, ordering: .acquiringAndReleasing)
                    Task {
                        await self.run(job)
                        self.inFlight.subtract(1, ordering: .acquiringAndReleasing)
                    }
                }
            } catch {
                logger.warning("activation failed", metadata: ["type": "\(type)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(Int.random(in: 500...1500)))
            }
        }
    }

    private func run(_ job: ActivatedJob) async {
        do {
            switch await handler(job) {
            case .complete(let vars): try await engine.completeJob(job.jobKey, variables: vars)
            case .bpmnError(let code, let message, let vars): try await engine.throwError(job.jobKey, errorCode: code, errorMessage: message, variables: vars)
            case .retry(let why):
                logger.info("transient failure, the engine retries", metadata: ["type": "\(type)", "job": "\(job.jobKey)", "why": "\(why)"])
                try await engine.failJob(job.jobKey, retries: job.retries - 1, errorMessage: why, retryBackOff: .milliseconds(200))
            }
        } catch {
            logger.warning("job command failed", metadata: ["job": "\(job.jobKey)", "error": "\(error)"])
        }
    }
}
