import ArgumentParser

@main
struct AffinityHub: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "affinity-hub",
        abstract: "A callback hub for workflow engines: WebSocket, SSE and long-poll delivery of workflow outcomes.",
        subcommands: [Serve.self, DevEngineCommand.self, Bench.self],
        defaultSubcommand: Serve.self
    )
}
