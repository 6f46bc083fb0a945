import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure the transport (see scripts/bench-transport.sh).")
    func run() throws {
        print("bench: not yet implemented")
    }
}
