// The few JSON strings the transport writes itself (error bodies, close reasons), escaped per
// RFC 8259 §7, without pulling Foundation's encoder into the hot modules.

public enum JSONText {
    /// `text` as a quoted JSON string.
    public static func quoted(_ text: String) -> String {
        // Fast path: printable ASCII without quote or backslash (generated ids, keys) needs no escaping.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) { return "\"" + text + "\"" }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    /// The house error body: `{"error": code, "message": text}`.
    public static func errorBody(code: String, message: String) -> String {
        "{\"error\":\(quoted(code)),\"message\":\(quoted(message))}"
    }
}
