import WebSocket

/// Application logic behind one WebSocket. Called on the connection's loop thread.
public protocol WebSocketHandler: AnyObject {
    func webSocketDidOpen(_ connection: Connection)
    func webSocket(_ connection: Connection, didReceive kind: MessageKind, _ payload: [UInt8])
    /// The WebSocket is gone: `code` is the peer's close code, ours, or nil when the TCP
    /// connection simply dropped.
    func webSocketDidClose(_ connection: Connection, code: CloseCode?)
}

extension WebSocketHandler {
    public func webSocketDidOpen(_ connection: Connection) {}
    public func webSocketDidClose(_ connection: Connection, code: CloseCode?) {}
}

/// Sends every message back as received: text as text, binary as binary. For conformance tests
/// (`--echo-path`); off by default.
public final class EchoHandler: WebSocketHandler {
    public init() {}

    public func webSocket(_ connection: Connection, didReceive kind: MessageKind, _ payload: [UInt8]) {
        connection.send(kind, payload)
    }
}
