"""HTTP/1.1 over loopback: routes, keep-alive and pipelining, limits and malformed input, each
answered with the documented status and a JSON body, and the hub keeps serving afterwards."""
import json
import re
import socket
import time

import requests

from rawws import http_raw


def status_and_body(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode(), body


def test_health_readiness_and_metrics(hub):
    r = requests.get(hub.http("/healthz"))
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert "Date" in r.headers
    assert requests.get(hub.http("/readyz")).json() == {"status": "ready"}
    metrics = requests.get(hub.http("/metrics")).text
    assert "# TYPE affinity_connections_open gauge" in metrics


def test_unknown_paths_and_methods_get_json_errors(hub):
    r = requests.get(hub.http("/nope"))
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = requests.post(hub.http("/healthz"), data=b"x")
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    assert r.json()["error"] == "method_not_allowed"


def test_head_has_length_but_no_body(hub):
    raw = http_raw(hub.port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, head, body = status_and_body(raw)
    assert status == 200 and "Content-Length: 15" in head and body == b""


def test_pipelined_requests_are_answered_in_order_on_one_connection(hub):
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    raw = http_raw(hub.port, req)
    statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)]
    assert statuses == [200, 404, 200]


def test_keep_alive_connection_serves_many_requests(hub):
    s = requests.Session()
    for _ in range(20):
        assert s.get(hub.http("/healthz")).status_code == 200


def test_expect_100_continue(hub):
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    s.sendall(b"abcd")
    time.sleep(0.1)
    assert b"405" in s.recv(4096).split(b"\r\n")[0]
    s.close()


def test_malformed_and_oversized_requests(hub):
    cases = [
        (b"GET / HTTP/1.1\r\n\r\n", 400),                                            # no Host
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"b" * 17000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(150)) + b"\r\n", 431),
        (b"GET / HTTP/1.1\nHost: x\n\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 417),
    ]
    for data, expected in cases:
        raw = http_raw(hub.port, data)
        status, head, body = status_and_body(raw)
        assert status == expected, (data[:60], raw[:200])
        assert "Connection: close" in head
        assert "error" in json.loads(body)
    assert requests.get(hub.http("/healthz")).status_code == 200


def test_slowloris_headers_get_408_and_others_are_served_meanwhile(hub):
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    start = time.time()
    for _ in range(3):
        time.sleep(0.3)
        s.sendall(b"X-Slow: 1\r\n")
        assert requests.get(hub.http("/healthz")).status_code == 200
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 408"), data
    assert 1.5 < time.time() - start < 6


def test_a_silent_connection_is_closed_without_a_response(hub):
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    start = time.time()
    assert s.recv(100) == b""
    assert 1.5 < time.time() - start < 6


def test_many_connections_at_once(hub):
    socks = [socket.create_connection(("127.0.0.1", hub.port)) for _ in range(200)]
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    for s in socks:
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.close()
