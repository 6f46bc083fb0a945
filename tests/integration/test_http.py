"""HTTP/1.1 over loopback: routes, keep-alive and pipelining, limits and malformed input, each
answered with the documented status and a JSON body, and the hub keeps serving afterwards."""
import json
import subprocess
import re
import socket
import time

import pytest
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


# --- framing and status lines, as strict peers see them -----------------------------------------

# RFC 9110 §15 phrases (Python's http.HTTPStatus still has the RFC 7231 names for 413 and 422).
REASONS = {101: "Switching Protocols", 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
           401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           422: "Unprocessable Content", 429: "Too Many Requests", 503: "Service Unavailable"}


def response_head(port, request):
    """The status line and headers of one response (streams are not read past their head)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request)
    out = b""
    while b"\r\n\r\n" not in out:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    head = out.split(b"\r\n\r\n")[0].decode()
    status_line, *fields = head.split("\r\n")
    headers = [tuple(f.split(": ", 1)) for f in fields]
    return status_line, {name.lower() for name, _ in headers}


def test_no_response_on_any_route_has_both_content_length_and_transfer_encoding(make_hub):
    h = make_hub("--echo-path", "/echo", "--dev-engine", "--max-data-bytes", "64")
    requests.post(h.http("/v1/outcomes/framing-1"), json={"data": {"n": 1}})
    get = lambda path, extra="": f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()
    body = lambda method, path, data: f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n{data}".encode()
    upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    cases = [get("/"), get("/healthz"), get("/readyz"), get("/metrics"), get("/v1/stats"), get("/v1/client.js"),
             get("/v1/outcomes/framing-1?after=0&timeout=0"), get("/v1/outcomes/framing-1?after=1&timeout=0"),
             get("/v1/outcomes/framing-1", "Accept: text/event-stream\r\n"),
             get("/v1/outcomes/framing-1?follow=1", upgrade), get("/v1/ws", upgrade + "Sec-WebSocket-Protocol: affinity.v1\r\n"),
             body("POST", "/v1/outcomes/framing-2", '{"data":1}'), body("POST", "/v1/outcomes/framing-2", "{"),
             body("POST", "/v1/outcomes/framing-3", '{"data":"' + "x" * 100 + '"}'),
             get("/nope"), body("DELETE", "/v1/outcomes/framing-1", ""), f"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
             get("/v1/outcomes/bad%20key"), get("/v2/topology"), get("/v2/process-instances/123"),
             body("POST", "/v2/process-instances", '{"processDefinitionId":"nope"}')]
    seen = set()
    for request in cases:
        status_line, names = response_head(h.port, request)
        assert not ("content-length" in names and "transfer-encoding" in names), (request, status_line)
        code = int(status_line.split(" ")[1])
        seen.add(code)
        assert status_line == f"HTTP/1.1 {code} {REASONS[code]}", status_line
    assert {101, 200, 201, 204, 400, 404, 405, 413} <= seen


NODE_SSE = r"""
const http = require('http');
const [port, key] = process.argv.slice(1);
const req = http.get({host: '127.0.0.1', port, path: `/v1/outcomes/${key}`, headers: {Accept: 'text/event-stream'}}, res => {
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', chunk => {
    buffered += chunk;
    const data = buffered.split('\n').find(line => line.startsWith('data:'));
    if (data) { console.log(JSON.stringify({status: res.statusCode, type: res.headers['content-type'], data: data.slice(5).trim()})); process.exit(0); }
  });
});
req.on('error', e => { console.log(JSON.stringify({error: e.code || e.message})); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({error: 'timeout'})); process.exit(1); }, 5000);
"""


def test_node_http_reads_the_sse_stream(hub):
    requests.post(hub.http("/v1/outcomes/node-sse"), json={"data": {"hello": "node"}})
    out = subprocess.run(["node", "-e", NODE_SSE, str(hub.port), "node-sse"], capture_output=True, text=True, timeout=20)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0, answer
    assert answer["status"] == 200 and answer["type"].startswith("text/event-stream")
    assert json.loads(answer["data"])["data"] == {"hello": "node"}


@pytest.mark.parametrize("query,headers", [
    ("timeout=abc", {}), ("timeout=-5", {}), ("timeout=inf", {}), ("timeout=nan", {}), ("timeout=1e3", {}),
    ("timeout=61", {}), ("after=abc", {}), ("after=-1", {}), ("follow=maybe", {}),
    ("", {"Accept": "text/event-stream", "Last-Event-ID": "abc"}),
    ("lastEventId=x", {"Accept": "text/event-stream"}), ("after=1.5", {"Accept": "text/event-stream"}),
])
def test_query_parameters_with_invalid_values_get_400_naming_them(hub, query, headers):
    r = requests.get(hub.http(f"/v1/outcomes/q-1?{query}"), headers=headers, timeout=5)
    assert r.status_code == 400, (query, r.status_code, r.text)
    assert r.json()["error"] == "bad_request"
    name = (query.split("=")[0] or "Last-Event-ID")
    assert name in r.json()["message"]
    assert requests.get(hub.http("/healthz")).status_code == 200


def test_a_websocket_subscription_with_an_invalid_after_is_refused_before_upgrading(hub):
    raw = http_raw(hub.port, b"GET /v1/outcomes/q-2?after=abc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    status, _, body = status_and_body(raw)
    assert status == 400 and b"after" in body
