/// Bounds on what the parser accepts. A Redis server is a trusted peer, but a proxy, a bug or a
/// hostile endpoint on the other end must not make the hub allocate without bound.
public struct RESPLimits: Sendable {
    /// One bulk string, bulk error or verbatim string. Redis itself caps values at 512 MiB; an
    /// outcome is at most a few hundred KiB, so 64 MiB leaves room for batches.
    public var maxBulkBytes = 64 << 20
    /// Elements of one array, set, push or map (pairs count twice).
    public var maxElements = 1 << 20
    /// Aggregates inside aggregates. Replies the hub reads nest two or three deep.
    public var maxDepth = 32
    /// A simple line (`+`, `-`, `:`, lengths, doubles, big numbers).
    public var maxLineBytes = 64 << 10

    public init() {}
}

public enum RESPError: Error, Sendable, Equatable {
    /// The byte that should start a value is not a RESP type.
    case unknownType(UInt8)
    /// A line did not end with CR LF.
    case missingLineEnd
    case lineTooLong(Int)
    case invalidInteger
    case invalidLength
    case invalidDouble
    case invalidBoolean
    case invalidBigNumber
    case invalidVerbatim
    case invalidUTF8
    case bulkTooLarge(Int)
    case tooManyElements(Int)
    case tooDeep(Int)
}
