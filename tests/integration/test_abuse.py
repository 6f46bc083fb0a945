"""Abusive clients: the hub answers each correctly, bounds what it holds, and keeps serving others."""
import asyncio
import re
import socket
import time

import requests
import websockets

from rawws import RawWS


def metric(hub, name):
    text = requests.get(hub.http("/metrics")).text
    m = re.search(rf"^affinity_{name} ([0-9.]+)$", text, re.M)  # gauges render as 12.0
    return int(float(m.group(1)))


def test_a_client_that_stops_reading_is_closed_and_others_continue(make_hub):
    h = make_hub("--echo-path", "/echo", "--output-limit-bytes", "262144")
    ws = RawWS(h.port)
    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    big = RawWS.frame(2, b"z" * 65536)
    before = metric(h, "slow_consumers_closed_total")
    # Keep sending, never read: echoes pile up in the server's output queue until the limit.
    deadline = time.time() + 20
    closed = False
    while time.time() < deadline and not closed:
        try:
            ws.sock.settimeout(2)
            ws.send(big)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            closed = True
        closed = closed or metric(h, "slow_consumers_closed_total") > before
    assert metric(h, "slow_consumers_closed_total") == before + 1
    ws.close()

    async def echo():
        async with websockets.connect(h.url + "/echo") as c:
            await c.send("fine")
            assert await c.recv() == "fine"
    asyncio.run(echo())


def test_garbage_instead_of_a_handshake(hub):
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    s.sendall(bytes(range(256)) * 4)
    data = s.recv(4096)
    assert data.startswith(b"HTTP/1.1 400")
    s.close()


def test_half_open_websocket_does_not_leak(hub):
    before = metric(hub, "websockets_open")
    socks = []
    for _ in range(50):
        ws = RawWS(hub.port)
        socks.append(ws)
    assert metric(hub, "websockets_open") >= before + 50
    for ws in socks:
        ws.sock.close()                   # TCP gone without a close frame
    deadline = time.time() + 5
    while time.time() < deadline and metric(hub, "websockets_open") > before:
        time.sleep(0.05)
    assert metric(hub, "websockets_open") == before


def test_bytes_after_the_upgrade_request_are_parsed_as_frames(hub):
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    req = (b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    ws = RawWS.__new__(RawWS)
    ws.sock = s
    ws.buf = b""
    s.sendall(req + RawWS.frame(1, b"same packet"))
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, ws.buf = data.split(b"\r\n\r\n", 1)
    assert b"101 Switching Protocols" in head
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    assert ws.recv_frame()[3] == b"same packet"
    s.close()


def test_out_of_file_descriptors_sheds_connections_without_spinning_and_recovers(make_hub):
    h = make_hub("--loops", "1", "--echo-path", "/echo", nofile=64)
    held = []
    for _ in range(100):
        try:
            held.append(socket.create_connection(("127.0.0.1", h.port), timeout=2))
        except OSError:
            pass
    time.sleep(0.5)
    before = h.cpu_seconds()
    time.sleep(1.5)
    busy = (h.cpu_seconds() - before) / 1.5
    assert busy < 0.3, f"hub used {busy:.0%} CPU while out of descriptors"
    shed = 0
    for s in held:
        s.settimeout(0.5)
        try:
            if s.recv(1) == b"":
                shed += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            shed += 1
        s.close()
    assert shed > 0                         # connections past the limit were closed at once
    time.sleep(0.3)
    assert requests.get(h.http("/healthz"), timeout=5).status_code == 200
