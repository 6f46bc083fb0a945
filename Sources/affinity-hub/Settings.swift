// One precedence order for every setting: command-line flag, then environment variable
// `AFFINITY_<NAME>` (the flag name upper-cased, dashes as underscores), then the JSON config file
// given by `--config` / `AFFINITY_CONFIG`, then the built-in default.
import ArgumentParser
import Foundation

struct Settings {
    let environment: [String: String]
    private let file: [String: Any]

    init(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        guard let path = configPath ?? environment["AFFINITY_CONFIG"] else { file = [:]; return }
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("config file \(path) is not a readable JSON object")
        }
        file = object
    }

    private func envName(_ name: String) -> String { "AFFINITY_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }

    func string(_ name: String, flag: String?, default value: String?) -> String? {
        flag ?? environment[envName(name)] ?? (file[name] as? String) ?? value
    }

    func int(_ name: String, flag: Int?, default value: Int) throws -> Int {
        if let flag { return flag }
        if let e = environment[envName(name)] {
            guard let n = Int(e) else { throw ValidationError("\(envName(name)) must be an integer") }
            return n
        }
        if let f = file[name] {
            guard let n = f as? Int else { throw ValidationError("config \(name) must be an integer") }
            return n
        }
        return value
    }

    func bool(_ name: String, flag: Bool) -> Bool {
        if flag { return true }
        if let e = environment[envName(name)] { return ["1", "true", "yes"].contains(e.lowercased()) }
        return (file[name] as? Bool) ?? false
    }

    /// Repeatable flags; the environment form is comma-separated.
    func list(_ name: String, flag: [String]) -> [String] {
        if !flag.isEmpty { return flag }
        if let e = environment[envName(name)] { return e.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        return (file[name] as? [String]) ?? []
    }
}
