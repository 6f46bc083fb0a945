// Camunda user tasks (`zeebe:userTask`): created when the token reaches the task, assigned and
// completed through the user-task API; completing one moves its token on.
import HubBytes

extension EngineCore {
    mutating func createUserTask(_ i: Int64, _ t: Int64, _ element: FlowElement, _ def: UserTaskDefinition, nowMs: Int64) {
        let key = newKey()
        userTasks[key] = UserTask(key: key, instanceKey: i, elementInstanceKey: t, elementId: element.id, name: element.name, definition: def,
                                  assignee: def.assignee, state: .created, createdAt: nowMs)
        instances[i]!.tokens[t]!.userTaskKey = key
    }

    func openUserTask(_ key: Int64, _ verb: String) -> Result<UserTask, EngineError> {
        guard let task = userTasks[key] else {
            return .failure(.notFound("Command '\(verb)' rejected with code 'NOT_FOUND': Expected to \(verb.lowercased()) user task with key '\(key)', but no such user task was found"))
        }
        guard task.state == .created else {
            return .failure(.invalidState("Command '\(verb)' rejected with code 'INVALID_STATE': Expected to \(verb.lowercased()) user task with key '\(key)', but it is in state '\(task.state.rawValue)'"))
        }
        return .success(task)
    }

    /// Completes a user task: its variables land in the instance and its token moves on.
    public mutating func completeUserTask(_ key: Int64, variables: [String: JSONValue], nowMs: Int64) -> EngineError? {
        let task: UserTask
        switch openUserTask(key, "COMPLETE") {
        case .failure(let e): return e
        case .success(let u): task = u
        }
        userTasks[key]!.state = .completed
        userTasks[key]!.completedAt = nowMs
        let i = task.instanceKey, t = task.elementInstanceKey
        setVariables(i, variables)
        guard instances[i]?.tokens[t]?.userTaskKey == key else { return nil }
        instances[i]!.tokens[t]!.userTaskKey = nil
        complete(i, t, flow: nil, nowMs: nowMs)
        return nil
    }

    /// Assigns a user task. With `allowOverride` false, a task assigned to someone else is refused.
    public mutating func assignUserTask(_ key: Int64, assignee: String, allowOverride: Bool) -> EngineError? {
        let task: UserTask
        switch openUserTask(key, "ASSIGN") {
        case .failure(let e): return e
        case .success(let u): task = u
        }
        guard !assignee.isEmpty else { return .invalidArgument("No assignee provided.") }
        if !allowOverride, let current = task.assignee, current != assignee {
            return .invalidState("Command 'ASSIGN' rejected with code 'INVALID_STATE': Expected to assign user task with key '\(key)', but it is already assigned to '\(current)'")
        }
        userTasks[key]!.assignee = assignee
        return nil
    }

    public mutating func unassignUserTask(_ key: Int64) -> EngineError? {
        if case .failure(let e) = openUserTask(key, "UNASSIGN") { return e }
        userTasks[key]!.assignee = nil
        return nil
    }
}
