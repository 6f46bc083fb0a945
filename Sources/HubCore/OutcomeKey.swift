/// What a caller awaits: a workflow instance key or a correlation key it chose.
/// `[A-Za-z0-9._:-]`, 1 to 128 bytes; anything else is refused with a typed error.
public struct OutcomeKey: Hashable, Sendable, CustomStringConvertible {
    public let value: String
    public static let maxLength = 128

    public init(validating text: some StringProtocol) throws(HubError) {
        let utf8 = text.utf8
        guard !utf8.isEmpty else { throw .invalidKey("a key must not be empty") }
        guard utf8.count <= Self.maxLength else { throw .invalidKey("a key is at most \(Self.maxLength) bytes") }
        for c in utf8 {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                continue
            default:
                throw .invalidKey("keys use only A-Z a-z 0-9 . _ : -")
            }
        }
        value = String(text)
    }

    public var description: String { value }
}
