/// ISO-8601 durations as BPMN timers and task headers write them: `PT48H`, `P2DT3H30M`,
/// `PT1.5S`, `P1W`. Years and months are refused (their length depends on the calendar).
public enum ISODuration {
    /// Milliseconds, or nil for anything that is not such a duration (or is zero, or ten years or more).
    public static func milliseconds(_ text: String) -> Int64? {
        var rest = Substring(text)
        guard rest.hasPrefix("P") else { return nil }
        rest = rest.dropFirst()
        var total = 0.0, number = "", inTime = false, parts = 0, timeParts = 0
        for c in rest {
            switch c {
            case "T":
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
            case "0"..."9", ".": number.append(c)
            default:
                guard let n = Double(number) else { return nil }
                switch (c, inTime) {
                case ("W", false): total += n * 604_800
                case ("D", false): total += n * 86_400
                case ("H", true): total += n * 3_600
                case ("M", true): total += n * 60
                case ("S", true): total += n
                default: return nil
                }
                number = ""
                parts += 1
                if inTime { timeParts += 1 }
            }
        }
        guard parts > 0, number.isEmpty, !inTime || timeParts > 0, total > 0, total < 10 * 365 * 86_400 else { return nil }
        return Int64(total * 1000)
    }
}
