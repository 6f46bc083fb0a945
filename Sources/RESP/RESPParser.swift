// An incremental RESP3 parser: feed it bytes as they arrive (any split), take complete values.
//
//   feed(bytes) ─▶ next() ─▶ .value  (consumed)
//                         ─▶ nil     (incomplete: nothing consumed; the bytes it still needs are
//                                     remembered, so a large bulk string arriving in many reads is
//                                     not re-parsed from its start on each)
//                         ─▶ throws  (the stream is out of sync: every later call throws the same)
//
// Attributes (`|`) are read and dropped: RESP3 lets a client ignore them, and the value they
// annotate follows.

public struct RESPParser: Sendable {
    public let limits: RESPLimits
    private var buffer: [UInt8] = []
    private var start = 0
    /// `buffer.count` must reach this before parsing again can make progress.
    private var needed = 0
    private var failure: RESPError?

    public init(limits: RESPLimits = RESPLimits()) { self.limits = limits }

    /// Bytes received and not yet consumed as values.
    public var bufferedBytes: Int { buffer.count - start }

    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete value, or nil until more bytes arrive.
    public mutating func next() throws(RESPError) -> RESPValue? {
        if let failure { throw failure }
        guard start < buffer.count, buffer.count >= needed else { return nil }
        var i = start
        do {
            let value = try Reader(bytes: buffer, limits: limits).value(at: &i, depth: 0)
            start = i
            needed = 0
            compact()
            return value
        } catch {
            switch error {
            case .incomplete(let end):
                needed = end
                return nil
            case .invalid(let refusal):
                failure = refusal
                throw refusal
            }
        }
    }

    /// Drops consumed bytes once they are most of the buffer (amortised O(1) per byte).
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 << 10)
            start = 0
        } else if start >= 4096 && start * 2 >= buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}

/// Why a parse stopped.
enum Stop: Error {
    /// More bytes are needed: the buffer must reach at least `end` bytes.
    case incomplete(end: Int)
    case invalid(RESPError)
}

/// One parse attempt over the buffer (no state: an incomplete value is parsed again from its
/// start once enough bytes have arrived).
struct Reader {
    let bytes: [UInt8]
    let limits: RESPLimits

    func value(at i: inout Int, depth: Int) throws(Stop) -> RESPValue {
        guard i < bytes.count else { throw .incomplete(end: i + 1) }
        let type = bytes[i]
        i += 1
        switch type {
        case UInt8(ascii: "+"): return .simpleString(try text(line(at: &i)))
        case UInt8(ascii: "-"): return .error(try text(line(at: &i)))
        case UInt8(ascii: ":"): return .integer(try integer(line(at: &i)))
        case UInt8(ascii: "_"):
            guard try line(at: &i).isEmpty else { throw .invalid(.missingLineEnd) }
            return .null
        case UInt8(ascii: "#"):
            let l = try line(at: &i)
            guard l.count == 1, l.first == UInt8(ascii: "t") || l.first == UInt8(ascii: "f") else { throw .invalid(.invalidBoolean) }
            return .boolean(l.first == UInt8(ascii: "t"))
        case UInt8(ascii: ","): return .double(try double(line(at: &i)))
        case UInt8(ascii: "("):
            let l = try line(at: &i)
            var digits = l[...]
            if digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw .invalid(.invalidBigNumber) }
            return .bigNumber(try text(l))
        case UInt8(ascii: "$"):
            guard let b = try blob(at: &i, nullable: true) else { return .null }
            return .bulkString(b)
        case UInt8(ascii: "!"):
            return .bulkError(try text(try blob(at: &i, nullable: false) ?? []))
        case UInt8(ascii: "="):
            let b = try blob(at: &i, nullable: false) ?? []
            guard b.count >= 4, b[3] == UInt8(ascii: ":") else { throw .invalid(.invalidVerbatim) }
            return .verbatim(format: try text(Array(b[0..<3])), text: Array(b[4...]))
        case UInt8(ascii: "*"):
            guard let items = try elements(at: &i, depth: depth, perItem: 1, nullable: true) else { return .null }
            return .array(items)
        case UInt8(ascii: "~"): return .set(try elements(at: &i, depth: depth, perItem: 1, nullable: false) ?? [])
        case UInt8(ascii: ">"): return .push(try elements(at: &i, depth: depth, perItem: 1, nullable: false) ?? [])
        case UInt8(ascii: "%"):
            let flat = try elements(at: &i, depth: depth, perItem: 2, nullable: false) ?? []
            return .map(stride(from: 0, to: flat.count, by: 2).map { RESPPair(flat[$0], flat[$0 + 1]) })
        case UInt8(ascii: "|"):
            // Attributes: read the map, then return the value it annotates.
            _ = try elements(at: &i, depth: depth, perItem: 2, nullable: false)
            guard depth < limits.maxDepth else { throw .invalid(.tooDeep(limits.maxDepth)) }
            return try value(at: &i, depth: depth + 1)
        default:
            throw .invalid(.unknownType(type))
        }
    }

    /// The bytes up to CR LF (exclusive); `i` moves past the LF.
    private func line(at i: inout Int) throws(Stop) -> ArraySlice<UInt8> {
        var j = i
        let limit = min(bytes.count, i + limits.maxLineBytes + 1)
        while j < limit && bytes[j] != 13 {
            if bytes[j] == 10 { throw .invalid(.missingLineEnd) }
            j += 1
        }
        if j == limit {
            if j - i > limits.maxLineBytes { throw .invalid(.lineTooLong(limits.maxLineBytes)) }
            // One more byte decides: it may be the CR, or a stray LF that is an error now.
            throw .incomplete(end: j + 1)
        }
        guard j + 1 < bytes.count else { throw .incomplete(end: j + 2) }
        guard bytes[j + 1] == 10 else { throw .invalid(.missingLineEnd) }
        let l = bytes[i..<j]
        i = j + 2
        return l
    }

    /// A length-prefixed body (`$`, `!`, `=`); nil for RESP2's `$-1`.
    private func blob(at i: inout Int, nullable: Bool) throws(Stop) -> [UInt8]? {
        guard let n = try length(line(at: &i), nullable: nullable) else { return nil }
        guard n <= limits.maxBulkBytes else { throw .invalid(.bulkTooLarge(limits.maxBulkBytes)) }
        let end = i + n
        guard end + 2 <= bytes.count else { throw .incomplete(end: end + 2) }
        guard bytes[end] == 13, bytes[end + 1] == 10 else { throw .invalid(.missingLineEnd) }
        let body = Array(bytes[i..<end])
        i = end + 2
        return body
    }

    /// `count × perItem` values of an aggregate; nil for RESP2's `*-1`.
    private func elements(at i: inout Int, depth: Int, perItem: Int, nullable: Bool) throws(Stop) -> [RESPValue]? {
        guard let n = try length(line(at: &i), nullable: nullable) else { return nil }
        let total = n.multipliedReportingOverflow(by: perItem)
        guard !total.overflow, total.partialValue <= limits.maxElements else { throw .invalid(.tooManyElements(limits.maxElements)) }
        guard depth < limits.maxDepth else { throw .invalid(.tooDeep(limits.maxDepth)) }
        // Never reserve from the claimed count: it is the peer's word, and each element takes at
        // least three bytes, so the buffer bounds what is really coming.
        var items: [RESPValue] = []
        items.reserveCapacity(min(total.partialValue, (bytes.count - i) / 3 + 1))
        for _ in 0..<total.partialValue { items.append(try value(at: &i, depth: depth + 1)) }
        return items
    }

    private func length(_ l: ArraySlice<UInt8>, nullable: Bool) throws(Stop) -> Int? {
        if nullable && l.elementsEqual([UInt8(ascii: "-"), UInt8(ascii: "1")]) { return nil }
        guard !l.isEmpty, l.count <= 18, l.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { throw .invalid(.invalidLength) }
        return l.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    private func integer(_ l: ArraySlice<UInt8>) throws(Stop) -> Int64 {
        var digits = l
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 19 else { throw .invalid(.invalidInteger) }
        var value: Int64 = 0
        for d in digits {
            guard d >= 0x30 && d <= 0x39 else { throw .invalid(.invalidInteger) }
            let step = value.multipliedReportingOverflow(by: 10)
            // Accumulate negatively so Int64.min parses.
            let next = step.partialValue.subtractingReportingOverflow(Int64(d - 0x30))
            guard !step.overflow, !next.overflow else { throw .invalid(.invalidInteger) }
            value = next.partialValue
        }
        if negative { return value }
        guard value != .min else { throw .invalid(.invalidInteger) }
        return -value
    }

    private func double(_ l: ArraySlice<UInt8>) throws(Stop) -> Double {
        switch String(decoding: l, as: UTF8.self) {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        case let s:
            // Digits, sign, point and exponent only: Swift's parser also takes hex and "infinity".
            guard !s.isEmpty, s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2B || $0 == 0x2E || $0 == 0x65 || $0 == 0x45 }),
                  let d = Double(s), d.isFinite else { throw .invalid(.invalidDouble) }
            return d
        }
    }

    private func text(_ b: some Collection<UInt8>) throws(Stop) -> String {
        guard let s = String(validating: b, as: UTF8.self) else { throw .invalid(.invalidUTF8) }
        return s
    }
}
