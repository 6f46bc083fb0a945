import WebSocket

/// The WebSocket phase's state on a connection: a class, allocated at the upgrade, so a
/// connection that stays HTTP does not carry its ~220 bytes inline (nor an upgraded one the
/// HTTP parser's).
final class WebSocketSession {
    var parser: WebSocketParser
    var deflate: DeflateParameters?
    let handler: WebSocketHandler
    let subprotocol: String?
    var closeSent = false
    var closeReceived = false
    /// The handler was told the socket closed.
    var finished = false

    init(parser: WebSocketParser, deflate: DeflateParameters?, handler: WebSocketHandler, subprotocol: String?) {
        self.parser = parser; self.deflate = deflate; self.handler = handler; self.subprotocol = subprotocol
    }
}
