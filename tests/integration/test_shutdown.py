"""Graceful shutdown: SIGTERM and SIGHUP (a restart or rolling deploy) close WebSockets with 1012
and a reconnect hint, SIGINT (an operator stopping the hub) with 1001; in-flight HTTP is
answered; the process exits 0 within the drain deadline."""
import signal
import socket
import time

import pytest

from rawws import RawWS


def test_sigint_closes_websockets_with_1001_and_exits_0(make_hub):
    h = make_hub("--echo-path", "/echo")
    clients = [RawWS(h.port) for _ in range(5)]
    h.proc.send_signal(signal.SIGINT)
    for ws in clients:
        assert ws.expect_close() == 1001
        ws.send_frame(8, b"\x03\xe9")     # the client completes the close handshake
        assert ws.closed_by_server()
    assert h.proc.wait(timeout=10) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_mean_restart_1012(make_hub, sig):
    h = make_hub("--echo-path", "/echo")
    ws = RawWS(h.port)
    h.proc.send_signal(sig)
    assert ws.expect_close() == 1012
    assert "reconnect" in ws.close_reason
    assert h.proc.wait(timeout=15) == 0


def test_shutdown_is_bounded_by_the_drain_timeout_when_clients_never_answer(make_hub):
    h = make_hub("--echo-path", "/echo", "--drain-timeout", "1")
    ws = RawWS(h.port)
    start = time.time()
    h.proc.send_signal(signal.SIGTERM)
    assert ws.expect_close() == 1012      # and the client never answers
    assert h.proc.wait(timeout=10) == 0
    assert time.time() - start < 8


def test_new_connections_are_refused_while_draining(make_hub):
    h = make_hub("--echo-path", "/echo", "--drain-timeout", "3")
    ws = RawWS(h.port)
    h.proc.send_signal(signal.SIGTERM)
    assert ws.expect_close() == 1012
    time.sleep(0.2)
    try:
        s = socket.create_connection(("127.0.0.1", h.port), timeout=2)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100) == b""
    except (ConnectionRefusedError, ConnectionResetError):
        pass
    ws.close()
    assert h.proc.wait(timeout=10) == 0


def test_the_drain_grace_answers_readyz_503_before_the_listener_closes(make_hub):
    """SIGTERM with a grace period: load balancers polling /readyz see 503 while the listener is
    still open; new subscriptions are refused, existing ones keep receiving; then 1012 and exit 0."""
    import json
    import requests
    from websockets.sync.client import connect

    h = make_hub("--drain-grace", "2")
    with connect(h.url + "/v1/ws", subprotocols=["affinity.v1"]) as ws:
        ws.send(json.dumps({"type": "subscribe", "key": "grace-1"}))
        assert json.loads(ws.recv(5))["type"] == "subscribed"
        signalled = time.monotonic()
        h.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        ready = requests.get(h.http("/readyz"), timeout=2)
        assert ready.status_code == 503 and ready.json()["error"] == "draining"
        # A new subscription is pointed elsewhere; the existing one still gets outcomes.
        ws.send(json.dumps({"type": "subscribe", "key": "grace-2"}))
        assert json.loads(ws.recv(5))["code"] == "draining"
        assert requests.get(h.http("/v1/outcomes/grace-3?timeout=0"), timeout=2).status_code == 503
        assert requests.post(h.http("/v1/outcomes/grace-1"), json={"data": 1}, timeout=2).status_code == 201
        assert json.loads(ws.recv(5))["seq"] == 1
        try:
            while True:
                ws.recv(5)
        except Exception:
            pass
        assert ws.close_code == 1012
        assert time.monotonic() - signalled >= 1.8, "the socket was closed before the grace period ended"
    assert h.proc.wait(timeout=15) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", h.port), timeout=1)


def test_sigint_skips_the_drain_grace(make_hub):
    h = make_hub("--drain-grace", "30", "--echo-path", "/echo")
    started = time.monotonic()
    h.proc.send_signal(signal.SIGINT)
    assert h.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
