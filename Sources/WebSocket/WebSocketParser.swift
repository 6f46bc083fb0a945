// The receive side of one WebSocket connection (RFC 6455 §5–§8, RFC 7692 §6–§7).
//
//   bytes ─▶ header (resumable, ≤14 bytes) ─▶ checks ─▶ payload: unmask ─▶ message or control buffer
//                                                               └─▶ UTF-8 check as bytes arrive (text, uncompressed)
//            frame end ─▶ control: .ping / .pong / .close      data FIN: [inflate, capped] ─▶ [UTF-8] ─▶ .message
//
// Every limit is checked as soon as a length is known, before a byte of payload is buffered.
// A violation carries the close code and reason to send. The parser never does I/O: the
// connection pulls events with `next(_:offset:)` over its receive buffer.
import HubBytes

/// Events the parser yields, one per `next` call.
public enum WebSocketEvent: Sendable {
    /// The input is consumed; feed more.
    case needMore
    /// A complete data message (inflated and UTF-8-checked).
    case message(MessageKind, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// A valid close frame: the peer's code (nil when the frame was empty) and reason.
    case close(CloseCode?, String)
    /// Fail the connection: send this close code and reason, then close.
    case violation(CloseCode, String)
}

/// Which side the parser serves. Servers require masked frames; clients require unmasked ones.
public enum WebSocketRole: Sendable { case server, client }

/// Parses frames into messages and control events for one connection.
public struct WebSocketParser {
    public let role: WebSocketRole
    public let limits: WebSocketLimits
    /// Decompression for messages with RSV1 set; nil when permessage-deflate was not negotiated.
    public var inflater: Inflater?

    private enum State {
        case header
        case payload(remaining: Int, mask: UInt32?, maskOffset: Int, control: UInt8?)
        case failed
    }

    private var state: State = .header
    /// Header bytes split across reads (at most 14).
    private var headerScratch: [UInt8] = []
    /// The data message being assembled.
    private var message: [UInt8] = []
    private var messageKind: MessageKind?
    private var messageCompressed = false
    private var fragments = 0
    private var utf8 = UTF8Validator()
    /// Payload of the control frame being read (≤125 bytes).
    private var control: [UInt8] = []
    private var pendingHeader: FrameHeader?

    public init(role: WebSocketRole = .server, limits: WebSocketLimits = WebSocketLimits(), inflater: Inflater? = nil) {
        self.role = role; self.limits = limits; self.inflater = inflater
    }

    /// True while a fragmented message is open.
    public var isMidMessage: Bool { messageKind != nil }

    /// The next event from `input[offset...]`; advances `offset` past consumed bytes.
    public mutating func next(_ input: UnsafeRawBufferPointer, offset: inout Int) -> WebSocketEvent {
        while true {
            switch state {
            case .failed:
                offset = input.count
                return .needMore
            case .header:
                if let event = readHeader(input, offset: &offset) { return event }
            case .payload(let remaining, let mask, let maskOffset, let controlOpcode):
                let available = input.count - offset
                let n = min(remaining, available)
                if n > 0 {
                    let chunk = UnsafeRawBufferPointer(rebasing: input[offset..<offset + n])
                    offset += n
                    if controlOpcode != nil {
                        append(chunk, to: &control, mask: mask, maskOffset: maskOffset)
                    } else {
                        let before = message.count
                        append(chunk, to: &message, mask: mask, maskOffset: maskOffset)
                        if messageKind == .text && !messageCompressed {
                            let ok = message.withUnsafeBytes { utf8.feed(UnsafeRawBufferPointer(rebasing: $0[before...])) }
                            if !ok { return fail(.invalidPayload, "invalid UTF-8 in text message") }
                        }
                    }
                }
                if n < remaining {
                    state = .payload(remaining: remaining - n, mask: mask, maskOffset: maskOffset + n, control: controlOpcode)
                    return .needMore
                }
                state = .header
                if let event = finishFrame(controlOpcode) { return event }
            }
        }
    }

    private mutating func fail(_ code: CloseCode, _ reason: String) -> WebSocketEvent {
        state = .failed
        message = []; control = []; headerScratch = []
        return .violation(code, reason)
    }

    private func append(_ chunk: UnsafeRawBufferPointer, to buffer: inout [UInt8], mask: UInt32?, maskOffset: Int) {
        let start = buffer.count
        buffer.append(contentsOf: chunk)
        if let mask {
            buffer.withUnsafeMutableBytes { Masking.apply(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: mask, offset: maskOffset) }
        }
    }

    /// Reads and checks a header; returns an event to yield, or nil to continue with the payload.
    private mutating func readHeader(_ input: UnsafeRawBufferPointer, offset: inout Int) -> WebSocketEvent? {
        let decoded: FrameHeader.HeaderDecode
        if headerScratch.isEmpty {
            decoded = FrameHeader.decode(UnsafeRawBufferPointer(rebasing: input[offset...]))
            switch decoded {
            case .needMore:
                headerScratch.append(contentsOf: input[offset...])
                offset = input.count
                return .needMore
            case .header(_, let consumed): offset += consumed
            case .violation: break
            }
        } else {
            // Slow path: the header straddles reads. Take bytes one at a time so the scratch never
            // holds payload.
            while true {
                let attempt = headerScratch.withUnsafeBytes { FrameHeader.decode($0) }
                if case .needMore = attempt {
                    guard offset < input.count else { return .needMore }
                    headerScratch.append(input[offset]); offset += 1
                    continue
                }
                decoded = attempt
                headerScratch.removeAll(keepingCapacity: true)
                break
            }
        }
        switch decoded {
        case .needMore: return .needMore
        case .violation(let reason): return fail(.protocolError, reason)
        case .header(let header, _): return begin(header)
        }
    }

    private mutating func begin(_ h: FrameHeader) -> WebSocketEvent? {
        if h.rsv2 || h.rsv3 { return fail(.protocolError, "reserved bits set without a negotiated extension") }
        switch role {
        case .server where h.mask == nil: return fail(.protocolError, "client frames must be masked")
        case .client where h.mask != nil: return fail(.protocolError, "server frames must not be masked")
        default: break
        }
        guard let opcode = Opcode(rawValue: h.opcode) else { return fail(.protocolError, "reserved opcode \(h.opcode)") }
        if opcode.isControl {
            if !h.fin { return fail(.protocolError, "fragmented control frame") }
            if h.length > 125 { return fail(.protocolError, "control frame payload over 125 bytes") }
            if h.rsv1 { return fail(.protocolError, "RSV1 set on a control frame") }
            control.removeAll(keepingCapacity: true)
            return startPayload(h, control: opcode.rawValue)
        }
        if h.length > limits.maxFrameBytes { return fail(.messageTooBig, "frame of \(h.length) bytes exceeds \(limits.maxFrameBytes)") }
        switch opcode {
        case .continuation:
            guard messageKind != nil else { return fail(.protocolError, "continuation frame without a message to continue") }
            if h.rsv1 { return fail(.protocolError, "RSV1 set on a continuation frame") }
            fragments += 1
            if fragments > limits.maxFragments { return fail(.messageTooBig, "more than \(limits.maxFragments) fragments") }
        default:
            guard messageKind == nil else { return fail(.protocolError, "new data frame inside a fragmented message") }
            if h.rsv1 && inflater == nil { return fail(.protocolError, "RSV1 set without permessage-deflate") }
            messageKind = opcode == .text ? .text : .binary
            messageCompressed = h.rsv1
            fragments = 1
            utf8 = UTF8Validator()
            message.removeAll(keepingCapacity: false)
        }
        if h.length > limits.maxMessageBytes - message.count {
            return fail(.messageTooBig, "message exceeds \(limits.maxMessageBytes) bytes")
        }
        return startPayload(h, control: nil)
    }

    private mutating func startPayload(_ h: FrameHeader, control: UInt8?) -> WebSocketEvent? {
        // Only data frames are remembered: a control frame may arrive between two fragments.
        if control == nil { pendingHeader = h }
        state = .payload(remaining: h.length, mask: h.mask, maskOffset: 0, control: control)
        return nil
    }

    /// Frame complete: yields control events and finished messages.
    private mutating func finishFrame(_ controlOpcode: UInt8?) -> WebSocketEvent? {
        if let controlOpcode {
            let payload = control
            control = []
            switch Opcode(rawValue: controlOpcode)! {
            case .ping: return .ping(payload)
            case .pong: return .pong(payload)
            default: return closeEvent(payload)
            }
        }
        guard let header = pendingHeader, header.fin, let kind = messageKind else { return nil }
        var body = message
        message = []
        messageKind = nil
        if messageCompressed {
            guard let inflater else { return fail(.protocolError, "compressed message without an inflater") }
            switch inflater.inflateMessage(body, maxOutput: limits.maxMessageBytes) {
            case .success(let out): body = out
            case .failure(.tooLarge): return fail(.messageTooBig, "inflated message exceeds \(limits.maxMessageBytes) bytes")
            case .failure(.corrupt(let why)): return fail(.invalidPayload, "permessage-deflate data is invalid: \(why)")
            }
            if kind == .text && !UTF8Validator.isValid(body) { return fail(.invalidPayload, "invalid UTF-8 in text message") }
        } else if kind == .text && !utf8.isComplete {
            return fail(.invalidPayload, "text message ends inside a UTF-8 sequence")
        }
        return .message(kind, body)
    }

    private mutating func closeEvent(_ payload: [UInt8]) -> WebSocketEvent {
        if payload.isEmpty { return .close(nil, "") }
        if payload.count == 1 { return fail(.protocolError, "close frame with a 1-byte payload") }
        let code = CloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isValidOnWire else { return fail(.protocolError, "invalid close code \(code.rawValue)") }
        let reason = Array(payload[2...])
        guard UTF8Validator.isValid(reason) else { return fail(.invalidPayload, "close reason is not valid UTF-8") }
        return .close(code, String(decoding: reason, as: UTF8.self))
    }
}
