"""deploy/nginx-affinity-hub.conf, as shipped (ports and certificate paths substituted), with Debian's
nginx in front of the hub over TLS: a publish, a WebSocket subscription, an SSE stream that gets its
event at once (no buffering), and a long-poll answered when the outcome arrives, all through nginx."""
import asyncio
import json
import os
import ssl
import threading
import time

import pytest
import requests
import websockets

from conftest import ROOT, free_port, start_nginx

CONF = os.path.join(ROOT, "deploy", "nginx-affinity-hub.conf")


@pytest.fixture
def proxied(make_hub, tls_files, tmp_path):
    hub = make_hub()
    cert, key = tls_files
    port = free_port()
    site = open(CONF).read()
    site = site.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{hub.port};").replace("listen 8443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("/etc/ssl/certs/hub.example.com.pem", cert).replace("/etc/ssl/private/hub.example.com.key", key)
    proc = start_nginx(site, tmp_path, port)
    yield hub, f"https://127.0.0.1:{port}", cert
    proc.terminate()
    proc.wait(timeout=10)


def publish(base, cert, key, i):
    r = requests.post(f"{base}/v1/outcomes/{key}", json={"status": "progress", "data": {"i": i}}, verify=cert, timeout=10)
    assert r.status_code == 201, r.text


def test_websocket_sse_and_long_poll_work_through_the_shipped_nginx_config(proxied):
    hub, base, cert = proxied
    context = ssl.create_default_context(cafile=cert)

    async def websocket():
        url = base.replace("https://", "wss://") + "/v1/outcomes/ws-1?follow=1"
        async with websockets.connect(url, ssl=context) as ws:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(publish, base, cert, "ws-1", 1)
            return json.loads(await asyncio.wait_for(ws.recv(), 5))
    got = asyncio.run(websocket())
    assert got["key"] == "ws-1" and got["seq"] == 1

    # SSE: the event arrives while the stream stays open (nginx does not buffer it).
    stream = requests.get(f"{base}/v1/outcomes/sse-1?follow=1", headers={"Accept": "text/event-stream"}, stream=True, verify=cert, timeout=10)
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    started = time.time()
    threading.Timer(0.3, publish, (base, cert, "sse-1", 1)).start()
    for line in stream.iter_lines():
        if line.startswith(b"data:"):
            assert json.loads(line[5:])["key"] == "sse-1"
            break
    assert time.time() - started < 3, "the event was held back"
    stream.close()

    # Long-poll: held open by nginx until the outcome comes.
    threading.Timer(1.0, publish, (base, cert, "lp-1", 1)).start()
    started = time.time()
    r = requests.get(f"{base}/v1/outcomes/lp-1?after=0&timeout=20", verify=cert, timeout=30)
    assert r.status_code == 200 and r.json()["key"] == "lp-1" and 0.8 < time.time() - started < 5
