// Flags that connect the hub to a workflow engine (the outcome worker) or embed the dev engine.
import ArgumentParser
import CamundaClient
import OutcomeWorker

struct EngineOptions: ParsableArguments {
    @Flag(help: "Serve the embedded dev engine's REST API (/v2/...) on the hub's port and run the outcome worker against it. Development only.")
    var devEngine = false
    @Option(help: "Camunda 8 REST API address (e.g. http://127.0.0.1:8088); runs the outcome worker against it.") var camundaUrl: String?
    @Option(help: "Camunda auth: none, basic or oauth. Default none.") var camundaAuth: String?
    @Option(help: "PEM CA certificates to trust for an https Camunda URL (default: the system's trust store).") var camundaCaFile: String?
    @Option(help: "Basic auth user.") var camundaUser: String?
    @Option(help: "Basic auth password (prefer AFFINITY_CAMUNDA_PASSWORD).") var camundaPassword: String?
    @Option(help: "OAuth token endpoint (client credentials).") var camundaTokenUrl: String?
    @Option(help: "OAuth client id.") var camundaClientId: String?
    @Option(help: "OAuth client secret (prefer AFFINITY_CAMUNDA_CLIENT_SECRET).") var camundaClientSecret: String?
    @Option(help: "OAuth audience, if the issuer wants one.") var camundaAudience: String?
    @Option(help: "OAuth scope, if the issuer wants one.") var camundaScope: String?
    @Option(help: "Job type the outcome worker takes. Default publish-outcome.") var workerJobType: String?
    @Option(help: "Jobs the outcome worker handles at once. Default 32.") var workerConcurrency: Int?
    @Option(help: "Seconds a job stays with the worker before the engine offers it again. Default 30.") var workerJobTimeout: Int?

    func auth(_ s: Settings) throws -> CamundaAuth {
        switch s.string("camunda-auth", flag: camundaAuth, default: "none")! {
        case "none": return .none
        case "basic":
            guard let user = s.string("camunda-user", flag: camundaUser, default: nil), let password = s.string("camunda-password", flag: camundaPassword, default: nil) else {
                throw ValidationError("--camunda-auth basic needs --camunda-user and --camunda-password")
            }
            return .basic(user: user, password: password)
        case "oauth":
            guard let url = s.string("camunda-token-url", flag: camundaTokenUrl, default: nil), let id = s.string("camunda-client-id", flag: camundaClientId, default: nil),
                  let secret = s.string("camunda-client-secret", flag: camundaClientSecret, default: nil) else {
                throw ValidationError("--camunda-auth oauth needs --camunda-token-url, --camunda-client-id and --camunda-client-secret")
            }
            return .oauth(tokenURL: url, clientId: id, clientSecret: secret, audience: s.string("camunda-audience", flag: camundaAudience, default: nil),
                          scope: s.string("camunda-scope", flag: camundaScope, default: nil))
        case let other: throw ValidationError("--camunda-auth is none, basic or oauth, not \(other)")
        }
    }

    func workerConfig(_ s: Settings) throws -> OutcomeWorkerConfig {
        var w = OutcomeWorkerConfig()
        w.jobType = s.string("worker-job-type", flag: workerJobType, default: w.jobType)!
        w.maxConcurrentJobs = max(1, try s.int("worker-concurrency", flag: workerConcurrency, default: w.maxConcurrentJobs))
        w.jobTimeout = .seconds(max(1, try s.int("worker-job-timeout", flag: workerJobTimeout, default: 30)))
        // Fault injection for the crash test only (documented in docs/engine.md).
        if let hold = s.environment["AFFINITY_TEST_HOLD_COMPLETION_MS"].flatMap(Int.init) { w.holdBeforeCompletion = .milliseconds(hold) }
        return w
    }
}
