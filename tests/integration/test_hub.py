"""The hub over loopback with independent clients: publish, single-key WebSocket, SSE with
resume, long-poll, the multiplexed socket, auth, limits and bad input, and durability across
kill -9."""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import time

import pytest
import requests
import websockets

from conftest import Hub
from rawws import http_raw


def run(coro):
    return asyncio.run(coro)


def publish(hub, key, data=None, status="completed", headers=None, **kw):
    body = {"status": status, "data": data if data is not None else {"k": key}}
    return requests.post(hub.http(f"/v1/outcomes/{key}"), json=body, headers=headers or {}, **kw)


def mint(secret, keys, exp=None):
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"keys": keys, "exp": exp or int(time.time()) + 60}).encode())
    sig = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(sig)}"


@pytest.fixture(scope="module")
def open_hub():
    h = Hub(["--loops", "2", "--retention", "30"])
    yield h
    assert h.stop() == 0


def test_publish_then_subscribe_gets_the_retained_outcome_and_a_1000_close(open_hub):
    r = publish(open_hub, "late-1", {"lgkey": "late-1", "lgseq": 1})
    assert r.status_code == 201 and r.json()["seq"] == 1 and r.json()["subscribers"] == 0

    async def go():
        async with websockets.connect(open_hub.url + "/v1/outcomes/late-1") as ws:
            msg = json.loads(await ws.recv())
            assert msg["type"] == "outcome" and msg["seq"] == 1 and msg["data"] == {"lgkey": "late-1", "lgseq": 1}
            with pytest.raises(websockets.exceptions.ConnectionClosedOK):
                await ws.recv()
            assert ws.protocol.close_rcvd.code == 1000
    run(go())


def test_data_is_delivered_byte_for_byte(open_hub):
    raw = b'{"status":"completed","data":{"b" : [1, 2.50, "\\u00e9"],  "a":null}}'
    assert requests.post(open_hub.http("/v1/outcomes/bytes-1"), data=raw).status_code == 201
    body = requests.get(open_hub.http("/v1/outcomes/bytes-1")).content
    assert body.endswith(b'"data":{"b" : [1, 2.50, "\\u00e9"],  "a":null}}')


def test_live_fan_out_to_websockets_sse_and_long_poll_in_order(open_hub):
    async def ws_client(follow):
        async with websockets.connect(open_hub.url + f"/v1/outcomes/fan-1?follow={int(follow)}") as ws:
            return [json.loads(await ws.recv())["seq"] for _ in range(3)]

    async def go():
        tasks = [asyncio.create_task(ws_client(True)) for _ in range(3)]
        await asyncio.sleep(0.3)
        loop = asyncio.get_running_loop()
        for status in ["progress", "progress", "completed"]:
            await loop.run_in_executor(None, lambda: publish(open_hub, "fan-1", status=status))
        return await asyncio.gather(*tasks)
    assert run(go()) == [[1, 2, 3]] * 3
    # SSE and long-poll read the same retained history.
    lines = requests.get(open_hub.http("/v1/outcomes/fan-1"), headers={"Accept": "text/event-stream"}, timeout=5).text
    assert [l for l in lines.splitlines() if l.startswith("id: ")] == ["id: 1", "id: 2", "id: 3"]
    assert requests.get(open_hub.http("/v1/outcomes/fan-1?after=2")).json()["seq"] == 3


def test_subscribe_racing_publish_gets_every_outcome_exactly_once(open_hub):
    """Many keys; for each, a subscriber connects while the publish is in flight, in random order."""
    async def one(i):
        key = f"race-{os.getpid()}-{i}"
        loop = asyncio.get_running_loop()
        await asyncio.sleep(random.random() * 0.05)
        pub = loop.run_in_executor(None, lambda: publish(open_hub, key, {"i": i}))
        await asyncio.sleep(random.random() * 0.05)
        async with websockets.connect(open_hub.url + f"/v1/outcomes/{key}") as ws:
            got = [json.loads(m) async for m in ws]
        assert (await pub).status_code == 201
        return got

    async def go():
        return await asyncio.gather(*(one(i) for i in range(200)))
    for i, got in enumerate(run(go())):
        assert [(m["seq"], m["data"]) for m in got] == [(1, {"i": i})], got


def test_sse_resumes_after_last_event_id(open_hub):
    for status in ["progress", "progress", "completed"]:
        publish(open_hub, "sse-1", status=status)
    r = requests.get(open_hub.http("/v1/outcomes/sse-1"), headers={"Accept": "text/event-stream", "Last-Event-ID": "2"}, timeout=5)
    assert r.headers["Content-Type"] == "text/event-stream"
    events = [json.loads(l[6:]) for l in r.text.splitlines() if l.startswith("data: ")]
    assert [e["seq"] for e in events] == [3]
    r = requests.get(open_hub.http("/v1/outcomes/sse-1?lastEventId=1"), headers={"Accept": "text/event-stream"}, timeout=5)
    assert [json.loads(l[6:])["seq"] for l in r.text.splitlines() if l.startswith("data: ")] == [2, 3]


def test_long_poll_waits_for_the_next_outcome_or_answers_204(open_hub):
    start = time.time()
    assert requests.get(open_hub.http("/v1/outcomes/poll-1?timeout=0.5")).status_code == 204
    assert 0.4 < time.time() - start < 3

    async def go():
        loop = asyncio.get_running_loop()
        waiting = loop.run_in_executor(None, lambda: requests.get(open_hub.http("/v1/outcomes/poll-1?timeout=10"), timeout=15))
        await asyncio.sleep(0.3)
        await loop.run_in_executor(None, lambda: publish(open_hub, "poll-1", {"x": 1}))
        return await waiting
    r = run(go())
    assert r.status_code == 200 and r.json()["data"] == {"x": 1}


def test_multiplexed_socket_subscribes_publishes_acks_and_resumes(open_hub):
    async def go():
        async with websockets.connect(open_hub.url + "/v1/ws", subprotocols=["affinity.v1"]) as ws:
            assert ws.subprotocol == "affinity.v1"
            for k in ["mx-a", "mx-b"]:
                await ws.send(json.dumps({"type": "subscribe", "key": k, "session": "s1", "ref": k}))
                assert json.loads(await ws.recv()) == {"type": "subscribed", "key": k, "replayed": 0, "ref": k}
            await ws.send(json.dumps({"type": "subscribe", "key": "bad key", "ref": 7}))
            err = json.loads(await ws.recv())
            assert err["type"] == "error" and err["code"] == "invalid_key" and err["ref"] == 7
            await ws.send(json.dumps({"type": "publish", "key": "mx-a", "status": "progress", "data": {"n": 1}, "ref": "p1"}))
            got = [json.loads(await ws.recv()) for _ in range(2)]
            types = sorted(m["type"] for m in got)
            assert types == ["outcome", "published"]
            await ws.send(json.dumps({"type": "publish", "key": "mx-a", "data": {"n": 2}}))
            got = [json.loads(await ws.recv()) for _ in range(2)]
            await ws.send(json.dumps({"type": "ack", "key": "mx-a", "seq": 1}))
            await ws.send(json.dumps({"type": "ping", "ref": 1}))
            assert json.loads(await ws.recv()) == {"type": "pong", "ref": 1}
            await ws.send(json.dumps({"type": "nonsense"}))
            assert json.loads(await ws.recv())["code"] == "unknown_type"
            await ws.send(b"\x00binary")
            assert json.loads(await ws.recv())["code"] == "invalid_message"
            for bad in [{"type": "subscribe", "key": "mx-c", "after": -1}, {"type": "subscribe", "key": "mx-c", "after": "3"},
                        {"type": "subscribe", "key": "mx-c", "session": "s" * 129},
                        {"type": "publish", "key": "mx-c", "idempotencyKey": "i" * 129}, {"type": "publish", "key": "mx-c", "id": ""}]:
                await ws.send(json.dumps(bad))
                reply = json.loads(await ws.recv())
                assert reply["type"] == "error" and reply["code"] in ("invalid_message", "invalid_outcome"), (bad, reply)
        async with websockets.connect(open_hub.url + "/v1/ws", subprotocols=["affinity.v1"]) as ws:
            await ws.send(json.dumps({"type": "subscribe", "key": "mx-a", "session": "s1"}))
            assert json.loads(await ws.recv())["replayed"] == 1          # seq 1 was acked by session s1
            assert json.loads(await ws.recv())["seq"] == 2
    run(go())


def test_publish_input_errors(open_hub):
    url = open_hub.http("/v1/outcomes/")
    assert requests.post(url + "bad%20key", json={}).json()["error"] == "invalid_key"
    assert requests.post(url + "k" * 129, json={}).status_code == 400
    r = requests.post(url + "e1", data=b"{not json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_outcome"
    assert requests.post(url + "e1", json={"status": "weird"}).status_code == 400
    assert requests.post(url + "e1", json={"data": "x" * 300_000}).status_code == 413
    assert requests.post(url + "e1", data=b"x" * 2_000_000).status_code == 413
    assert requests.put(url + "e1", json={}).status_code == 405
    for i in range(64):
        assert publish(open_hub, "full-1", status="progress").status_code == 201
    r = publish(open_hub, "full-1")
    assert r.status_code == 429 and r.json()["error"] == "key_full" and r.headers["Retry-After"] == "1"
    assert requests.get(open_hub.http("/healthz")).status_code == 200


def test_key_and_subscription_limits_hold_across_shards(make_hub):
    """Keys spread over the hub's shards by hash; the key limit is still hub-wide and exact, and
    a multiplexed socket's subscription limit counts keys on every shard."""
    h = make_hub("--max-keys", "20", "--max-subscriptions-per-connection", "5")
    for i in range(20):
        assert publish(h, f"lim-{i}").status_code == 201
    r = publish(h, "lim-20")
    assert r.status_code == 507 and r.json()["error"] == "store_full"
    assert publish(h, "lim-19").status_code == 201         # a held key still takes outcomes
    assert requests.get(h.http("/v1/stats")).json()["keys"] == 20

    async def go():
        async with websockets.connect(h.url + "/v1/ws", subprotocols=["affinity.v1"]) as ws:
            for i in range(5):
                await ws.send(json.dumps({"type": "subscribe", "key": f"lim-{i}"}))
                assert json.loads(await ws.recv())["type"] == "subscribed"
                assert json.loads(await ws.recv())["type"] == "outcome"
            await ws.send(json.dumps({"type": "subscribe", "key": "lim-5"}))
            refused = json.loads(await ws.recv())
            assert refused["code"] == "key_full" and "5 subscriptions per connection" in refused["message"]
            await ws.send(json.dumps({"type": "subscribe", "key": "lim-4"}))     # again: not a new one
            assert json.loads(await ws.recv())["type"] == "subscribed"
            await ws.send(json.dumps({"type": "unsubscribe", "key": "lim-0"}))
            assert json.loads(await ws.recv())["type"] == "unsubscribed"
            await ws.send(json.dumps({"type": "subscribe", "key": "lim-5"}))
            assert json.loads(await ws.recv())["type"] == "subscribed"
            assert json.loads(await ws.recv())["key"] == "lim-5"
            async with websockets.connect(h.url + "/v1/ws", subprotocols=["affinity.v1"]) as other:
                await other.send(json.dumps({"type": "subscribe", "key": "brand-new"}))
                assert json.loads(await other.recv())["code"] == "store_full"
    run(go())
    stats = requests.get(h.http("/v1/stats")).json()
    assert stats["subscriptions"] == 0 and stats["keys"] == 20


def test_dashboard_and_stats(open_hub):
    assert publish(open_hub, "stats-1").status_code == 201
    page = requests.get(open_hub.http("/"))
    assert page.status_code == 200 and "/v1/stats" in page.text
    stats = requests.get(open_hub.http("/v1/stats")).json()
    assert stats["published"] > 0 and "subscriptions" in stats
    metrics = requests.get(open_hub.http("/metrics")).text
    assert "affinity_outcomes_published_total" in metrics and "affinity_retained_outcomes" in metrics


def test_auth_publisher_keys_and_subscription_tokens(make_hub):
    h = make_hub("--publisher-key", "pk-1", "--token-secret", "sekret")
    assert publish(h, "auth-1").status_code == 401
    assert publish(h, "auth-1", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert publish(h, "auth-1", headers={"Authorization": "Bearer pk-1"}).status_code == 201
    url = h.http("/v1/outcomes/auth-1")
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer " + mint("sekret", ["other"])}).status_code == 403
    assert requests.get(url, headers={"Authorization": "Bearer " + mint("sekret", ["auth-1"], exp=1)}).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer " + mint("wrong", ["auth-1"])}).status_code == 401
    assert requests.get(url + "?token=" + mint("sekret", ["auth-*"])).json()["seq"] == 1
    assert requests.get(url, headers={"Authorization": "Bearer pk-1"}).status_code == 200   # publishers read all

    async def go():
        token = mint("sekret", ["auth-1"])
        # Browsers carry the token as a subprotocol; the hub selects it so the browser accepts.
        async with websockets.connect(h.url + "/v1/outcomes/auth-1", subprotocols=[f"bearer.{token}"]) as ws:
            assert json.loads(await ws.recv())["seq"] == 1
        with pytest.raises(websockets.exceptions.InvalidStatus) as e:
            await websockets.connect(h.url + "/v1/outcomes/auth-1")
        assert e.value.response.status_code == 401
        async with websockets.connect(h.url + "/v1/ws", subprotocols=["affinity.v1"]) as ws:
            await ws.send(json.dumps({"type": "subscribe", "key": "auth-1"}))
            assert json.loads(await ws.recv())["code"] == "unauthorized"
            await ws.send(json.dumps({"type": "subscribe", "key": "auth-1", "token": mint("sekret", ["nope"])}))
            assert json.loads(await ws.recv())["code"] == "forbidden"
            await ws.send(json.dumps({"type": "subscribe", "key": "auth-1", "token": token}))
            assert json.loads(await ws.recv())["type"] == "subscribed"       # the socket survived the errors
            await ws.send(json.dumps({"type": "publish", "key": "auth-1"}))
            got = [json.loads(await ws.recv()) for _ in range(2)]
            assert any(m.get("code") == "unauthorized" for m in got)
        async with websockets.connect(h.url + "/v1/ws", subprotocols=["affinity.v1"],
                                      additional_headers={"Authorization": "Bearer pk-1"}) as ws:
            await ws.send(json.dumps({"type": "publish", "key": "auth-2", "data": 5}))
            assert json.loads(await ws.recv())["type"] == "published"
    run(go())


def test_refuses_to_listen_beyond_loopback_without_credentials():
    from conftest import hub_binary
    import subprocess
    r = subprocess.run([hub_binary(), "serve", "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "--insecure" in r.stderr


def test_multiplexed_rate_limit(make_hub):
    h = make_hub("--messages-per-second", "5")

    async def go():
        async with websockets.connect(h.url + "/v1/ws") as ws:
            for i in range(30):
                await ws.send(json.dumps({"type": "ping", "ref": i}))
            replies = []
            try:
                while True:
                    replies.append(json.loads(await asyncio.wait_for(ws.recv(), 2)))
            except (asyncio.TimeoutError, websockets.exceptions.ConnectionClosed):
                pass
            assert any(r.get("code") == "rate_limited" for r in replies)
            assert sum(1 for r in replies if r["type"] == "pong") <= 12
    run(go())


def test_a_client_that_stays_over_its_message_rate_is_closed_with_1008(make_hub):
    """A flood at far above the limit: refused, then cut off after 3 s of refusals, however
    the bucket's refill interleaves with it. A client sending just under the limit is untouched."""
    h = make_hub("--messages-per-second", "200")

    async def flood():
        async with websockets.connect(h.url + "/v1/ws", max_queue=None) as ws:
            started, sent = time.monotonic(), 0
            try:
                while time.monotonic() - started < 10:
                    for _ in range(200):
                        await ws.send('{"type":"ping"}')
                    sent += 200
                    await asyncio.sleep(0.005)   # ~20k messages/s from one client
            except websockets.exceptions.ConnectionClosed:
                pass
            await asyncio.wait_for(ws.wait_closed(), 5)
            return ws.close_code, ws.close_reason, time.monotonic() - started, sent

    code, reason, elapsed, sent = run(flood())
    assert code == 1008 and "rate limit" in reason, (code, reason)
    assert 2.9 <= elapsed < 7, f"closed after {elapsed:.1f} s ({sent} messages)"

    async def polite():
        async with websockets.connect(h.url + "/v1/ws") as ws:
            for i in range(4 * 150):
                await ws.send(json.dumps({"type": "ping", "ref": i}))
                await asyncio.sleep(1 / 150)
            pongs = 0
            while pongs < 600:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert reply["type"] == "pong", reply
                pongs += 1
            return pongs
    assert run(polite()) == 600


def test_durable_store_survives_kill_9(tmp_path):
    path = str(tmp_path / "outcomes.log")
    h = Hub(["--store", "log", "--store-path", path, "--loops", "2"])
    published = {}
    for i in range(200):
        key = f"dur-{i % 20}"
        r = publish(h, key, {"i": i}, status="progress" if i < 180 else "completed")
        assert r.status_code == 201
        published.setdefault(key, []).append((r.json()["seq"], {"i": i}))
    h.proc.send_signal(signal.SIGKILL)
    h.proc.wait()
    h2 = Hub(["--store", "log", "--store-path", path])
    try:
        for key, expected in published.items():
            body = requests.get(h2.http(f"/v1/outcomes/{key}"), headers={"Accept": "text/event-stream"}, timeout=5).text
            got = [json.loads(l[6:]) for l in body.splitlines() if l.startswith("data: ")]
            assert [(m["seq"], m["data"]) for m in got] == expected
        # Numbering continues where it stopped, and idempotency survived too.
        assert publish(h2, "dur-0", {"after": True}).json()["seq"] == len(published["dur-0"]) + 1
    finally:
        assert h2.stop() == 0


def test_durable_log_with_a_torn_tail_recovers_the_intact_records(tmp_path):
    path = str(tmp_path / "outcomes.log")
    h = Hub(["--store", "log", "--store-path", path])
    for i in range(5):
        assert publish(h, "torn", {"i": i}, status="progress").status_code == 201
    h.proc.send_signal(signal.SIGKILL)
    h.proc.wait()
    with open(path, "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage")              # a record cut off mid-write
    h2 = Hub(["--store", "log", "--store-path", path])
    try:
        assert requests.get(h2.http("/v1/outcomes/torn?after=4")).json()["seq"] == 5
    finally:
        assert h2.stop() == 0


def test_thousands_of_keys_on_one_multiplexed_socket(open_hub):
    n = 5000

    async def go():
        async with websockets.connect(open_hub.url + "/v1/ws", subprotocols=["affinity.v1"], max_queue=None) as ws:
            for i in range(n):
                await ws.send(json.dumps({"type": "subscribe", "key": f"many-{i}"}))
                if i % 900 == 899:
                    await asyncio.sleep(1)          # stay under the default 1000 messages/s
            acks = [json.loads(await ws.recv()) for _ in range(n)]
            assert all(a["type"] == "subscribed" for a in acks)
            loop = asyncio.get_running_loop()
            for i in (0, n // 2, n - 1):
                await loop.run_in_executor(None, lambda i=i: publish(open_hub, f"many-{i}", {"i": i}))
            got = sorted([json.loads(await ws.recv())["data"]["i"] for _ in range(3)])
            assert got == [0, n // 2, n - 1]
    run(go())
    assert requests.get(open_hub.http("/v1/stats")).json()["subscriptions"] < n   # released on close


def test_close_codes_are_counted(open_hub):
    publish(open_hub, "closed-1")

    async def go():
        async with websockets.connect(open_hub.url + "/v1/outcomes/closed-1") as ws:
            await ws.recv()
    run(go())
    metrics = requests.get(open_hub.http("/metrics")).text
    assert 'affinity_ws_close_codes_sent_total{code="1000"}' in metrics


def test_connections_per_client_address_are_limited(make_hub):
    h = make_hub("--max-connections-per-client", "3")
    held = [socket.create_connection(("127.0.0.1", h.port)) for _ in range(3)]
    time.sleep(0.3)                      # both loops have accepted (and counted) them
    data = http_raw(h.port, b"")
    assert data.startswith(b"HTTP/1.1 429") and b"too_many_connections" in data
    for c in held:
        c.close()
    time.sleep(0.3)
    assert requests.get(h.http("/healthz")).status_code == 200


def test_settings_precedence_flag_then_environment_then_config_file(tmp_path):
    import subprocess
    from conftest import hub_binary
    cfg = tmp_path / "hub.json"
    cfg.write_text(json.dumps({"retention": 1, "max-data-bytes": 10, "publisher-key": ["from-file"]}))
    env = dict(os.environ, AFFINITY_MAX_DATA_BYTES="20", AFFINITY_CONFIG=str(cfg))
    proc = subprocess.Popen([hub_binary(), "serve", "--port", "0", "--max-data-bytes", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline().rsplit(":", 1)[1])
    try:
        url = f"http://127.0.0.1:{port}/v1/outcomes/cfg"
        auth = {"Authorization": "Bearer from-file"}          # from the file: nothing else set it
        assert requests.post(url, json={"data": "x" * 25}, headers=auth).status_code == 201   # flag 30 wins over env 20
        assert requests.post(url, json={"data": "x" * 35}, headers=auth).status_code == 413
        assert requests.post(url, json={"data": 1}).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = subprocess.run([hub_binary(), "serve", "--port", "0", "--config", str(bad)], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "config file" in r.stderr


def test_dashboard_shows_live_numbers_in_a_real_browser(open_hub):
    import shutil
    import subprocess
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (scripts/install-deps.sh installs it)")
        pytest.skip("no chromium on this machine")
    published = requests.get(open_hub.http("/v1/stats")).json()["published"]
    for i in range(3):
        assert publish(open_hub, f"dash-{i}", status="progress").status_code == 201
    # The page fetches /v1/stats and renders it with its own script; --dump-dom returns the DOM
    # after the script ran (virtual time lets its timer fire).
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                          "--dump-dom", open_hub.http("/")], capture_output=True, text=True, timeout=60).stdout
    assert f'id="v-published">{published + 3:,}<' in dom
    assert 'id="status">updated ' in dom and "store: memory" in dom
