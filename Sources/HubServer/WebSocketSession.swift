import WebSocket

/// The WebSocket phase's state on a connection.
struct WebSocketSession {
    var parser: WebSocketParser
    var deflate: DeflateParameters?
    let handler: WebSocketHandler
    let subprotocol: String?
    var closeSent = false
    var closeReceived = false
    /// The handler was told the socket closed.
    var finished = false
}
