"""Scale-out (docs/scale-out.md): several hub nodes sharing one real redis-server, started by the
tests on loopback. Subscribers and publishers on different nodes, nginx balancing across them,
a node killed with -9, Redis restarted (AOF on) and Redis cut off from one node by a TCP proxy the
test controls. What every test checks: each acknowledged (201) outcome reaches every subscriber
of its key once, in seq order; nothing is acknowledged that Redis does not hold."""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import websockets

from conftest import ROOT, Hub, free_port, start_nginx


def need(binary):
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.path.exists(f"/usr/sbin/{binary}") else None)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{binary} is missing (scripts/install-deps.sh installs it)")
    pytest.skip(f"no {binary} on this machine")


class RedisServer:
    """A redis-server on a free loopback port; `appendonly` makes every write durable before it is
    answered (appendfsync always), so a restart keeps what was acknowledged."""

    def __init__(self, directory, appendonly=False):
        self.binary = need("redis-server")
        self.directory = str(directory)
        self.port = free_port()
        self.appendonly = appendonly
        self.proc = None
        self.start()

    def start(self):
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory, "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert self.proc.poll() is None, "redis-server exited"
            assert time.time() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path, appendonly=True)
    yield server
    server.kill()


def node(make_hub, redis_url, *extra):
    return make_hub("--redis", redis_url, "--loops", "1", "--retention", "120", *extra)


def publish(base, key, data, idem=None, timeout=10):
    headers = {"Idempotency-Key": idem} if idem else {}
    return requests.post(f"{base}/v1/outcomes/{key}", json={"status": "progress", "data": data}, headers=headers, timeout=timeout)


def ready(base):
    try:
        return requests.get(f"{base}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def wait_until(predicate, seconds=15, what="the condition"):
    deadline = time.time() + seconds
    while not predicate():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Collector:
    """Multiplexed WebSocket subscribers (one socket per `url`, many keys each) on a thread of
    their own, recording every outcome per key; on a dropped socket they resume on the next URL
    with `after` = the last seq they got, as a client library does."""

    def __init__(self, urls, keys_per_socket):
        self.urls = urls
        self.groups = keys_per_socket
        self.got = {k: [] for keys in keys_per_socket for k in keys}
        self.subscribed = threading.Event()
        self.resumed = 0
        self.stop = False
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)
        self.thread.start()
        assert self.subscribed.wait(30), "the subscribers did not subscribe"

    async def main(self):
        first = [asyncio.Event() for _ in self.groups]
        tasks = [asyncio.create_task(self.socket(i, keys, first[i])) for i, keys in enumerate(self.groups)]
        await asyncio.gather(*(e.wait() for e in first))
        self.subscribed.set()
        await asyncio.gather(*tasks)

    async def socket(self, index, keys, first):
        attempt = 0
        while not self.stop:
            url = self.urls[attempt % len(self.urls)]
            try:
                async with websockets.connect(url + "/v1/ws", subprotocols=["affinity.v1"], max_size=None) as ws:
                    for k in keys:
                        last = self.got[k][-1] if self.got[k] else 0
                        await ws.send(json.dumps({"type": "subscribe", "key": k, "after": last}))
                    confirmed = 0
                    while confirmed < len(keys):
                        m = json.loads(await ws.recv())
                        if m["type"] == "subscribed":
                            confirmed += 1
                        elif m["type"] == "outcome":
                            self.got[m["key"]].append(m["seq"])
                        else:
                            raise AssertionError(m)
                    first.set()
                    while not self.stop:
                        try:
                            m = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                        except asyncio.TimeoutError:
                            continue
                        if m["type"] == "outcome":
                            self.got[m["key"]].append(m["seq"])
                    return
            except (OSError, websockets.ConnectionClosed, asyncio.TimeoutError):
                attempt += 1
                self.resumed += 1
                await asyncio.sleep(0.1)

    def close(self):
        self.stop = True
        self.thread.join(10)


class Publishers:
    """Threads publishing round robin over `keys` until stopped, each through its own base URL,
    every publish with a fresh idempotency key. Records each answer's status, and per key the
    seqs acknowledged (201). A refusal must be `refusal` (when given); refused publishes back
    off 10 ms."""

    def __init__(self, bases, keys, tag, refusal=None):
        self.keys, self.tag, self.refusal = keys, tag, refusal
        self.acknowledged = {k: [] for k in keys}
        self.statuses = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(base, n, len(bases))) for n, base in enumerate(bases)]
        for t in self.threads:
            t.start()

    def run(self, base, offset, step):
        i = offset
        while not self.stop.is_set():
            k = self.keys[i % len(self.keys)]
            i += step
            try:
                r = publish(base, k, {"i": i}, idem=f"{self.tag}-{offset}-{i}", timeout=5)
            except requests.RequestException:
                continue
            self.statuses.append(r.status_code)
            if r.status_code == 201:
                self.acknowledged[k].append(r.json()["seq"])
            else:
                if self.refusal:
                    assert r.status_code == self.refusal[0] and r.json()["error"] == self.refusal[1], r.text
                time.sleep(0.01)

    def wait_accepted(self, count, seconds, what):
        """Waits until more than `count` publishes from now on were acknowledged."""
        start = len(self.statuses)
        wait_until(lambda: self.statuses[start:].count(201) > count, seconds, what)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def caught_up(collector, load, keys, kept_sockets):
    """Waits until every subscriber has every acknowledged outcome, stops them, and checks each
    arrived once and in order (and, with `kept_sockets`, on the sockets they first opened)."""
    acknowledged = load.acknowledged
    wait_until(lambda: all(set(acknowledged[k]) <= set(collector.got[k]) for k in keys), 20, "the subscribers to catch up")
    collector.close()
    if kept_sockets:
        assert collector.resumed == 0, "the subscribers kept their sockets"
    assert_once_in_order(collector, acknowledged)


def assert_once_in_order(collector, acknowledged):
    """Every acknowledged seq arrived; per key, seqs strictly increase (no duplicate, no reorder)."""
    for key, seqs in collector.got.items():
        assert seqs == sorted(set(seqs)), f"{key}: duplicates or out of order: {seqs}"
        missing = set(acknowledged.get(key, [])) - set(seqs)
        assert not missing, f"{key}: acknowledged but never delivered: {sorted(missing)} (got {seqs})"


def test_a_subscriber_on_one_node_gets_what_another_published_before_and_after_it_subscribed(make_hub, redis):
    a, b = node(make_hub, redis.url), node(make_hub, redis.url)
    early = publish(a.http(""), "cross-1", {"n": 1})
    assert early.status_code == 201, early.text
    assert early.json()["seq"] == 1

    async def scenario():
        async with websockets.connect(b.url + "/v1/outcomes/cross-1?follow=1") as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert (first["seq"], first["data"]) == (1, {"n": 1}), "retained outcome replayed from the other node"
            r = await asyncio.to_thread(publish, a.http(""), "cross-1", {"n": 2})
            assert r.status_code == 201 and r.json()["seq"] == 2 and r.json()["subscribers"] == 1, r.text
            live = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert (live["seq"], live["data"]) == (2, {"n": 2})
            # Resume on the first node after seq 1: only seq 2 comes.
        async with websockets.connect(a.url + "/v1/ws", subprotocols=["affinity.v1"]) as ws:
            await ws.send(json.dumps({"type": "subscribe", "key": "cross-1", "after": 1}))
            got = []
            while len(got) < 2:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            assert got[0]["type"] == "subscribed" and got[1]["seq"] == 2, got
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)
    asyncio.run(scenario())

    # A node on Redis serves every affinity_redis_ metric docs/metrics.md lists.
    from test_metrics import documented_metrics, families
    served = set()
    deadline = time.time() + 5
    wanted = {name for name in documented_metrics() if name.startswith("affinity_redis_")}
    while not wanted <= served and time.time() < deadline:
        served = families(requests.get(b.http("/metrics"), timeout=5).text)
        time.sleep(0.2)
    assert wanted and wanted <= served, wanted - served

    # Idempotency holds across nodes: the retry on the other node is the original.
    first = publish(a.http(""), "cross-2", {"v": "x"}, idem="job-7")
    retry = publish(b.http(""), "cross-2", {"v": "y"}, idem="job-7")
    assert first.status_code == 201 and retry.status_code == 200, "a duplicate is answered 200, as on one node"
    assert retry.json()["duplicate"] is True and retry.json()["id"] == first.json()["id"] and retry.json()["seq"] == 1
    # Limits hold across nodes: the key's cap counts what every node published.
    c = node(make_hub, redis.url, "--max-outcomes-per-key", "3")
    for i in range(3):
        assert publish((a if i % 2 else b).http(""), "cross-3", i).status_code == 201
    full = publish(c.http(""), "cross-3", 4)
    assert full.status_code == 429 and full.json()["error"] == "key_full", full.text

    # Webhooks are per node: on Redis a registration is refused, saying why, unless the operator
    # accepts that (--webhooks-per-node); an endpoint never silently misses other nodes' outcomes.
    hook = {"url": "http://127.0.0.1:9/hook", "keys": ["cross-*"]}
    refused = requests.post(a.http("/v1/webhooks"), json=hook, timeout=5)
    assert refused.status_code == 501 and refused.json()["error"] == "webhooks_per_node", refused.text
    assert "--webhooks-per-node" in refused.json()["message"]
    assert requests.get(a.http("/v1/webhooks"), timeout=5).json()["webhooks"] == []
    d = node(make_hub, redis.url, "--webhooks-per-node", "--webhook-allow-private")
    assert requests.post(d.http("/v1/webhooks"), json=hook, timeout=5).status_code == 201


async def session_socket(base, key, session, after=None):
    """A multiplexed socket subscribed to `key` with `session`; returns (socket, outcomes replayed
    within half a second of the subscribed answer)."""
    ws = await websockets.connect(base + "/v1/ws", subprotocols=["affinity.v1"])
    message = {"type": "subscribe", "key": key, "session": session}
    if after is not None:
        message["after"] = after
    await ws.send(json.dumps(message))
    answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert answer["type"] == "subscribed", answer
    got = []
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 0.5))["seq"])
    except asyncio.TimeoutError:
        pass
    return ws, got


def test_a_session_resumes_on_any_node_after_what_it_acknowledged_on_another(make_hub, redis):
    a, b, c = (node(make_hub, redis.url) for _ in range(3))
    for i in range(3):
        assert publish(a.http(""), "sess-1", i).status_code == 201
        assert publish(a.http(""), "sess-2", i).status_code == 201

    async def scenario():
        # On b: everything, acknowledged up to 2.
        ws, got = await session_socket(b.url, "sess-1", "rest-1")
        assert got == [1, 2, 3]
        await ws.send(json.dumps({"type": "ack", "key": "sess-1", "seq": 2}))
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        await ws.close()
        assert publish(a.http(""), "sess-1", 3).status_code == 201
        # On c, which never saw the session: only what it did not acknowledge.
        ws, got = await session_socket(c.url, "sess-1", "rest-1")
        assert got == [3, 4], "a resume by session elsewhere skips what the session acknowledged"
        await ws.send(json.dumps({"type": "ack", "key": "sess-1", "seq": 4}))
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        await ws.close()
        # Back on b, whose own memory of the session says 2: the store's 4 wins.
        ws, got = await session_socket(b.url, "sess-1", "rest-1")
        assert got == [], "b knows the session acknowledged 4 on c"
        assert publish(a.http(""), "sess-1", 5).status_code == 201
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["seq"] == 5
        await ws.close()
        # `after` still counts when it is further than the session's ack; another session is its own.
        ws, got = await session_socket(c.url, "sess-1", "rest-1", after=4)
        assert got == [5]
        await ws.close()
        ws, got = await session_socket(c.url, "sess-1", "rest-2")
        assert got == [1, 2, 3, 4, 5]
        await ws.close()

        # An ack past the key's last seq is recorded as its last seq: it never hides a later outcome.
        ws, got = await session_socket(b.url, "sess-2", "rest-1")
        assert got == [1, 2, 3]
        await ws.send(json.dumps({"type": "ack", "key": "sess-2", "seq": 99}))
        # An ack of a key the socket does not subscribe to counts for nothing.
        await ws.send(json.dumps({"type": "ack", "key": "sess-1", "seq": 99}))
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        await ws.close()
        assert publish(a.http(""), "sess-2", 3).status_code == 201
        ws, got = await session_socket(c.url, "sess-2", "rest-1")
        assert got == [4]
        await ws.close()
        ws, got = await session_socket(a.url, "sess-1", "rest-1")
        assert got == [5], "sess-1 stays acknowledged at 4 (the stray ack of 99 did not count)"
        assert publish(b.http(""), "sess-1", 6).status_code == 201
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["seq"] == 6
        await ws.close()

        # Redis gone: a subscribe by session is still answered (from `after` alone: duplicates at
        # worst, never a loss), and the outcomes come once Redis is back.
        redis.kill()
        wait_until(lambda: not ready(c.http("")), 10, "c to notice Redis is gone")
        ws, _ = await session_socket(c.url, "sess-3", "rest-1")
        redis.start()
        wait_until(lambda: ready(a.http("")) and ready(c.http("")), 20, "the nodes back on Redis")
        assert publish(a.http(""), "sess-3", 0).status_code == 201
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] == 1
        await ws.close()
    asyncio.run(scenario())


def nginx_in_front(nodes, tmp_path):
    """deploy/nginx-scale-out.conf, as shipped, with the nodes' ports; returns (base URL, process)."""
    port = free_port()
    site = open(os.path.join(ROOT, "deploy", "nginx-scale-out.conf")).read()
    servers = "".join(f"    server 127.0.0.1:{n.port} max_fails=1 fail_timeout=5s;\n" for n in nodes)
    start = site.index("    server 127.0.0.1:8081")
    end = site.index("    keepalive")
    site = site[:start] + servers + site[end:]
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    proc = start_nginx(site, tmp_path, port)
    return f"127.0.0.1:{port}", proc


@pytest.mark.parametrize("nodes", [2, 3])
def test_a_thousand_keys_over_nodes_behind_nginx_arrive_once_and_in_order(make_hub, redis, tmp_path, nodes):
    # Two event loops per node: publishes from either loop go through the store on loop 0.
    hubs = [make_hub("--redis", redis.url, "--loops", "2") for _ in range(nodes)]
    front, proxy = nginx_in_front(hubs, tmp_path)
    try:
        keys = [f"lb-{nodes}-{i}" for i in range(1000)]
        # Ten sockets through nginx (round robin: spread over the nodes), a hundred keys each.
        collector = Collector([f"ws://{front}"], [keys[i::10] for i in range(10)])
        acknowledged = {k: [] for k in keys}
        lock = threading.Lock()

        def publish_key(k):
            # Three outcomes per key, each through nginx (so from any node), in order.
            for step in range(3):
                r = publish(f"http://{front}", k, {"step": step})
                assert r.status_code == 201, r.text
                with lock:
                    acknowledged[k].append(r.json()["seq"])

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(publish_key, keys))
        assert all(sorted(s) == [1, 2, 3] for s in acknowledged.values())
        wait_until(lambda: all(len(collector.got[k]) >= 3 for k in keys), 30, "every outcome delivered")
        time.sleep(0.3)
        collector.close()
        assert_once_in_order(collector, acknowledged)
        assert all(collector.got[k] == [1, 2, 3] for k in keys)
        # Every node served subscribers and publishes.
        stats = [requests.get(h.http("/v1/stats"), timeout=5).json() for h in hubs]
        assert all(s["delivered"] > 0 for s in stats), stats

        # SSE and long-poll through nginx: the event arrives at once on the open stream (nothing
        # buffered), resuming with Last-Event-ID lands on any node and continues after it.
        stream = requests.get(f"http://{front}/v1/outcomes/lb-sse-{nodes}?follow=1", headers={"Accept": "text/event-stream"},
                              stream=True, timeout=10)
        assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        started = time.time()
        threading.Timer(0.3, publish, (f"http://{front}", f"lb-sse-{nodes}", 1)).start()
        for line in stream.iter_lines():
            if line.startswith(b"data:"):
                assert json.loads(line[5:])["seq"] == 1
                break
        assert time.time() - started < 3, "the event was held back"
        stream.close()
        assert publish(f"http://{front}", f"lb-sse-{nodes}", 2).status_code == 201
        for _ in range(nodes):     # round robin: each try may land on another node
            resumed = requests.get(f"http://{front}/v1/outcomes/lb-sse-{nodes}", headers={"Accept": "text/event-stream", "Last-Event-ID": "1"},
                                   stream=True, timeout=10)
            data = next(line for line in resumed.iter_lines() if line.startswith(b"data:"))
            assert json.loads(data[5:])["seq"] == 2
            resumed.close()
        threading.Timer(1.0, publish, (f"http://{front}", f"lb-lp-{nodes}", 1)).start()
        started = time.time()
        r = requests.get(f"http://{front}/v1/outcomes/lb-lp-{nodes}?after=0&timeout=20", timeout=30)
        assert r.status_code == 200 and r.json()["key"] == f"lb-lp-{nodes}" and 0.8 < time.time() - started < 5
    finally:
        proxy.terminate()
        proxy.wait(10)


def test_a_node_killed_under_load_loses_nothing_acknowledged(make_hub, redis):
    # Not from make_hub: that fixture requires a clean exit, and this node gets none.
    a = Hub(["--redis", redis.url, "--loops", "1", "--retention", "120"])
    try:
        b, c = node(make_hub, redis.url), node(make_hub, redis.url)
        killed_under_load(a, b, c)
    finally:
        a.proc.kill()
        a.proc.wait()


def killed_under_load(a, b, c):
    keys = [f"kill-{i}" for i in range(200)]
    # Subscribers start on node a and fail over to b, then c.
    collector = Collector([a.url, b.url, c.url], [keys[i::4] for i in range(4)])
    load = Publishers([b.http(""), c.http("")], keys, "kill")
    try:
        time.sleep(1.5)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        time.sleep(1.5)
    finally:
        load.close()
    acknowledged = load.acknowledged
    total = sum(len(v) for v in acknowledged.values())
    assert total > 200, f"too little load to mean anything: {total} publishes"
    wait_until(lambda: all(set(acknowledged[k]) <= set(collector.got[k]) for k in keys), 30, "catch-up after failover")
    collector.close()
    assert collector.resumed == 4, "every socket was on the killed node and reconnected elsewhere"
    assert_once_in_order(collector, acknowledged)


def test_redis_restarted_under_load_publishes_get_503_then_nothing_acknowledged_is_lost(make_hub, redis):
    a, b = node(make_hub, redis.url), node(make_hub, redis.url)
    keys = [f"restart-{i}" for i in range(50)]
    collector = Collector([b.url], [keys])
    load = Publishers([a.http("")], keys, "restart", refusal=(503, "store_failed"))
    try:
        time.sleep(1)
        redis.kill()
        wait_until(lambda: not ready(a.http("")) and not ready(b.http("")), 10, "both nodes not ready")
        refused_before = load.statuses.count(503)
        time.sleep(1)
        assert load.statuses.count(503) > refused_before, "publishes during the outage are refused with 503"
        redis.start()
        wait_until(lambda: ready(a.http("")) and ready(b.http("")), 15, "both nodes ready again")
        load.wait_accepted(50, 15, "publishes accepted again")
    finally:
        load.close()
    caught_up(collector, load, keys, kept_sockets=True)


class Gate:
    """A TCP proxy between one node and Redis that the test can close like a partition: while
    closed, bytes in both directions are held back (the connections stay open, as when packets
    are dropped), and `cut` ends every connection."""

    def __init__(self, target_port):
        self.target = target_port
        self.open = threading.Event()
        self.open.set()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.pairs = []
        # Seconds each chunk is held before it is passed on (a slow network or a slow Redis).
        self.delay = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.pairs.append((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(src, dst), daemon=True).start()

    def pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self.open.wait()
                if self.delay:
                    time.sleep(self.delay)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.open.clear()

    def reopen(self):
        self.open.set()


def test_a_node_cut_off_from_redis_stops_acknowledging_reports_not_ready_and_catches_up(make_hub, redis):
    gate = Gate(redis.port)
    cut_off = node(make_hub, f"redis://127.0.0.1:{gate.port}", "--redis-timeout", "500")
    healthy = node(make_hub, redis.url)
    keys = [f"gate-{i}" for i in range(20)]
    collector = Collector([cut_off.url], [keys])
    acknowledged = {k: [] for k in keys}
    for k in keys:
        acknowledged[k].append(publish(healthy.http(""), k, 0).json()["seq"])

    gate.close()
    started = time.time()
    r = publish(cut_off.http(""), "gate-0", 1)
    waited = time.time() - started
    assert r.status_code == 503, r.text
    assert waited < 2.5, f"a publish to a node that cannot reach Redis is refused within the timeout, took {waited:.2f}s"
    wait_until(lambda: not ready(cut_off.http("")), 5, "the cut-off node reports not ready")
    assert ready(healthy.http(""))
    # Meanwhile the healthy node goes on; the cut-off node's subscribers keep their socket.
    for i in range(1, 4):
        for k in keys:
            r = publish(healthy.http(""), k, i)
            assert r.status_code == 201
            acknowledged[k].append(r.json()["seq"])
    # Refusals stay quick and bounded while cut off (no queue growing behind the partition).
    times = []
    for _ in range(20):
        started = time.time()
        assert publish(cut_off.http(""), "gate-1", "x").status_code == 503
        times.append(time.time() - started)
    assert max(times) < 2.5, times

    gate.reopen()
    wait_until(lambda: ready(cut_off.http("")), 15, "the node ready again")
    wait_until(lambda: all(set(acknowledged[k]) <= set(collector.got[k]) for k in keys), 15, "catch-up after the partition")
    collector.close()
    assert_once_in_order(collector, acknowledged)


class RedisCluster:
    """Three masters and three replicas (redis-cli --cluster create), AOF on, a 1 s node timeout so
    a failover takes seconds."""

    def __init__(self, directory):
        need("redis-cli")
        self.binary = need("redis-server")
        self.ports = []
        while len(self.ports) < 6:
            port = free_port()
            if port < 55000 and port not in self.ports:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port + 10000)) != 0:
                        self.ports.append(port)
        self.procs = {}
        for port in self.ports:
            d = os.path.join(str(directory), str(port))
            os.makedirs(d)
            self.procs[port] = subprocess.Popen(
                [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "", "--appendonly", "yes",
                 "--appendfsync", "always", "--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
                 "--cluster-replica-validity-factor", "0",
                 "--cluster-config-file", "nodes.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in self.ports:
            wait_until(lambda: self.cli(port, "PING") == "PONG", 10, f"redis {port}")
        subprocess.check_call(["redis-cli", "--cluster", "create"] + [f"127.0.0.1:{p}" for p in self.ports]
                              + ["--cluster-replicas", "1", "--cluster-yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.healthy, 30, "the cluster to be ok")

    def cli(self, port, *args):
        try:
            return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True, text=True, timeout=5).stdout.strip()
        except subprocess.TimeoutExpired:
            return ""

    def healthy(self):
        """Every live node sees the cluster ok, three masters, and every live replica in sync."""
        alive = [p for p in self.ports if self.procs[p].poll() is None]
        roles = [self.cli(p, "INFO", "replication") for p in alive]
        return all("cluster_state:ok" in self.cli(p, "CLUSTER", "INFO") for p in alive) and \
            sum(1 for r in roles if "role:master" in r) == 3 and \
            all("master_link_status:up" in r for r in roles if "role:slave" in r)

    def masters(self):
        return [p for p in self.ports if self.procs[p].poll() is None and "role:master" in self.cli(p, "INFO", "replication")]

    def kill(self, port):
        self.procs[port].kill()
        self.procs[port].wait()

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def seeds(self):
        return [arg for p in self.ports[:2] for arg in ("--redis", f"redis://127.0.0.1:{p}")]


@pytest.fixture
def cluster(tmp_path):
    c = RedisCluster(tmp_path)
    yield c
    c.stop()


class SentinelGroup:
    """A master, its replica and one Redis Sentinel watching them as `mymaster` (quorum 1, down
    after 500 ms), all on free loopback ports."""

    def __init__(self, directory):
        need("redis-cli")
        self.binary = need("redis-server")
        self.directory = str(directory)
        self.ports = [free_port(), free_port()]
        self.sentinel_port = free_port()
        self.procs = {}
        self.start(self.ports[0])
        self.start(self.ports[1], "--replicaof", "127.0.0.1", str(self.ports[0]))
        conf = os.path.join(self.directory, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.directory}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {self.ports[0]} 1\n"
                    "sentinel down-after-milliseconds mymaster 500\nsentinel failover-timeout mymaster 2000\n")
        self.sentinel = subprocess.Popen([self.binary, conf, "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.in_sync, 30, "the sentinel to see the master and its replica in sync")

    def start(self, port, *extra):
        d = os.path.join(self.directory, str(port))
        os.makedirs(d, exist_ok=True)
        self.procs[port] = subprocess.Popen([self.binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "",
                                             "--appendonly", "no", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.cli(port, "PING") == "PONG", 10, f"redis {port}")

    def cli(self, port, *args):
        try:
            return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True, text=True, timeout=5).stdout.strip()
        except subprocess.TimeoutExpired:
            return ""

    def master(self):
        """The master's port, as the sentinel names it."""
        answer = self.cli(self.sentinel_port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").split()
        return int(answer[1]) if len(answer) == 2 else None

    def in_sync(self):
        """The sentinel's master is a master with one replica in sync, and the sentinel counts it."""
        port = self.master()
        if port is None:
            return False
        info = self.cli(port, "INFO", "replication")
        fields = self.cli(self.sentinel_port, "SENTINEL", "MASTER", "mymaster").split("\n")
        known = dict(zip(fields[::2], fields[1::2]))
        replica = [p for p in self.ports if p != port][0]
        return "role:master" in info and "connected_slaves:1" in info and known.get("num-slaves") == "1" and \
            "master_link_status:up" in self.cli(replica, "INFO", "replication") and "s_down" not in known.get("flags", "")

    def kill(self, port):
        self.procs[port].kill()
        self.procs[port].wait()

    def stop(self):
        for proc in [self.sentinel, *self.procs.values()]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def sentinels(tmp_path):
    group = SentinelGroup(tmp_path)
    yield group
    group.stop()


def test_nodes_on_redis_sentinel_follow_its_failovers_and_lose_nothing_acknowledged(make_hub, sentinels):
    args = ["--redis", f"redis://127.0.0.1:{sentinels.sentinel_port}", "--redis-sentinel-master", "mymaster",
            "--redis-wait-replicas", "1", "--redis-timeout", "800", "--loops", "1"]
    a, b = make_hub(*args), make_hub(*args)
    wait_until(lambda: ready(a.http("")) and ready(b.http("")), 10, "both nodes on the master the sentinel names")
    keys = [f"sentinel-{i}" for i in range(40)]
    collector = Collector([b.url], [keys[i::2] for i in range(2)])
    load = Publishers([a.http("")], keys, "sentinel", refusal=(503, "store_failed"))
    try:
        time.sleep(1)
        first = sentinels.master()
        # A failover with the master alive: it is demoted to a replica (READONLY from then on).
        assert sentinels.cli(sentinels.sentinel_port, "SENTINEL", "FAILOVER", "mymaster") == "OK"
        wait_until(lambda: sentinels.master() != first, 15, "the sentinel to switch masters")
        wait_until(sentinels.in_sync, 30, "the old master to replicate the new one")
        load.wait_accepted(40, 20, "publishes acknowledged by the new master")
        # The new master killed: the sentinel fails over back; the killed node returns as a replica.
        second = sentinels.master()
        sentinels.kill(second)
        wait_until(lambda: sentinels.master() == first, 30, "the failover back to the first node")
        sentinels.start(second)
        wait_until(sentinels.in_sync, 30, "the restarted node to replicate the master")
        wait_until(lambda: ready(a.http("")) and ready(b.http("")), 20, "both nodes ready on the master")
        load.wait_accepted(40, 20, "publishes acknowledged again")
    finally:
        load.close()
    assert 503 in load.statuses, "publishes during the failovers were refused, not acknowledged"
    caught_up(collector, load, keys, kept_sockets=True)
    # A node given a master name no sentinel knows is not ready, and says why.
    c = make_hub("--redis", f"redis://127.0.0.1:{sentinels.sentinel_port}", "--redis-sentinel-master", "nosuch", "--loops", "1")
    wait_until(lambda: "nosuch" in requests.get(c.http("/readyz"), timeout=5).text, 5, "the reason in /readyz")
    assert requests.get(c.http("/readyz"), timeout=5).status_code == 503


def test_nodes_on_a_redis_cluster_deliver_every_key_whatever_its_slot(make_hub, cluster):
    a = make_hub(*cluster.seeds(), "--loops", "1")
    b = make_hub(*cluster.seeds(), "--loops", "1")
    keys = [f"slot-{i}" for i in range(300)]
    # The keys spread over all three masters.
    owners = {cluster.cli(cluster.ports[0], "CLUSTER", "KEYSLOT", "{" + k + "}") for k in keys}
    assert len(owners) > 100
    collector = Collector([b.url], [keys[i::3] for i in range(3)])
    acknowledged = {k: [] for k in keys}
    for step in range(2):
        for k in keys:
            r = publish(a.http(""), k, {"step": step})
            assert r.status_code == 201, r.text
            acknowledged[k].append(r.json()["seq"])
    wait_until(lambda: all(collector.got[k] == [1, 2] for k in keys), 20, "every outcome on the other node")
    collector.close()
    assert_once_in_order(collector, acknowledged)
    # Retention and idempotency through the cluster too.
    late = requests.get(b.http("/v1/outcomes/slot-7?after=1&wait=2"), timeout=10)
    assert late.status_code == 200 and late.json()["seq"] == 2
    retry = publish(b.http(""), "slot-8", {"x": 1}, idem="i-8")
    again = publish(a.http(""), "slot-8", {"x": 2}, idem="i-8")
    assert retry.status_code == 201 and again.status_code == 200 and again.json()["seq"] == retry.json()["seq"]

    # Session acks live in the key's slot too: acknowledged on b, resumed after them on a.
    async def sessions():
        for k in keys[20:40]:
            ws, got = await session_socket(b.url, k, "svc")
            assert got == [1, 2]
            await ws.send(json.dumps({"type": "ack", "key": k, "seq": 1}))
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
            await ws.close()
        for k in keys[20:40]:
            ws, got = await session_socket(a.url, k, "svc")
            assert got == [2], k
            await ws.close()
    asyncio.run(sessions())


def test_a_cluster_failover_loses_no_acknowledged_outcome(make_hub, cluster):
    args = cluster.seeds() + ["--loops", "1", "--redis-wait-replicas", "1", "--redis-timeout", "800"]
    a, b = make_hub(*args), make_hub(*args)
    keys = [f"fail-{i}" for i in range(60)]
    collector = Collector([b.url], [keys[i::2] for i in range(2)])
    load = Publishers([a.http("")], keys, "failover", refusal=(503, "store_failed"))
    try:
        time.sleep(1)
        victim = cluster.masters()[0]
        cluster.kill(victim)
        wait_until(lambda: not ready(a.http("")), 10, "the node to notice a master is gone")
        wait_until(cluster.healthy, 30, "the replica to take over")
        wait_until(lambda: ready(a.http("")) and ready(b.http("")), 20, "both nodes ready on the new map")
        load.wait_accepted(60, 20, "publishes accepted on every slot again")
    finally:
        load.close()
    assert 503 in load.statuses, "publishes to the failed master's slots were refused, not acknowledged"
    caught_up(collector, load, keys, kept_sockets=True)


def test_outcome_workers_on_two_nodes_turn_a_redelivered_job_into_one_outcome(make_hub, redis):
    """The job-key idempotency of the outcome worker, across nodes: node A stores the outcome and
    is killed before completing the job; the engine offers the job again and node B, on the same
    Redis, finds the outcome already stored and completes the job without a second outcome."""
    from test_engine import FIXTURES, Process, activate, deploy, engine_call
    from conftest import hub_binary
    engine = Process([hub_binary(), "dev-engine", "--port", "0"], r"listening (http://127\.0\.0\.1:\d+)")
    try:
        deploy(engine.url, os.path.join(FIXTURES, "ship-then-publish.bpmn"))
        common = ["--camunda-url", engine.url, "--redis", redis.url, "--worker-job-timeout", "2"]
        hub_a = make_hub(*common, env={"AFFINITY_TEST_HOLD_COMPLETION_MS": "60000"})
        key = f"order-nodes-{time.time_ns()}"
        pi = engine_call(engine.url, "POST", "/v2/process-instances",
                         {"processDefinitionId": "ship-then-publish", "variables": {"affinityKey": key, "orderId": "n1"}}).json()["processInstanceKey"]
        [job] = activate(engine.url, "shipping")
        assert engine_call(engine.url, "POST", f"/v2/jobs/{job['jobKey']}/completion", {"variables": {"trackingNumber": "T-n"}}).status_code == 204
        first = requests.get(hub_a.http(f"/v1/outcomes/{key}?timeout=10"), timeout=15).json()
        assert first["seq"] == 1
        hub_a.proc.send_signal(signal.SIGKILL)
        hub_a.proc.wait()
        hub_a.stop = lambda *a, **k: 0  # already gone; the fixture must not expect a clean exit

        hub_b = make_hub(*common)
        wait_until(lambda: engine_call(engine.url, "GET", f"/v2/process-instances/{pi}").json()["state"] == "COMPLETED", 20,
                   "node B to complete the re-offered job")
        metrics = requests.get(hub_b.http("/metrics"), timeout=5).text
        assert 'affinity_worker_jobs_total{result="duplicate"} 1' in metrics
        assert requests.get(hub_b.http(f"/v1/outcomes/{key}?timeout=10"), timeout=15).json()["id"] == first["id"]
        assert requests.get(hub_b.http(f"/v1/outcomes/{key}?after=1&timeout=1"), timeout=5).status_code == 204
    finally:
        engine.stop()


def test_a_slow_redis_slows_publishes_without_unbounded_queues_and_redis_out_of_memory_is_507(make_hub, tmp_path):
    """A delaying proxy between the node and Redis: publishes are answered after the delay, not
    lost or hung; then a Redis with a tiny maxmemory refuses a write and the publisher gets 507."""
    redis = RedisServer(tmp_path)
    try:
        gate = Gate(redis.port)
        gate.delay = 0.15
        hub = node(make_hub, f"redis://127.0.0.1:{gate.port}", "--redis-timeout", "1500")
        wait_until(lambda: ready(hub.http("")), 10, "the node to reach Redis through the slow proxy")
        started = time.time()
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: publish(hub.http(""), f"slow-{i % 20}", i).status_code, range(200)))
        took = time.time() - started
        assert results.count(201) == 200, results
        assert took < 30, f"pipelined through one connection, 200 publishes took {took:.1f}s"
        gate.delay = 0
        subprocess.check_call(["redis-cli", "-p", str(redis.port), "CONFIG", "SET", "maxmemory", "1"], stdout=subprocess.DEVNULL)
        full = publish(hub.http(""), "slow-oom", "x" * 1000)
        assert full.status_code == 507 and full.json()["error"] == "store_full", full.text
    finally:
        redis.kill()


def test_slots_moved_while_publishing_lose_nothing(make_hub, cluster):
    """redis-cli --cluster reshard moves slots holding keys between masters under load: publishes
    meet ASK (slot migrating) and MOVED (slot moved) and are sent on; subscriptions Redis ends
    (sunsubscribe) are followed to the new master. Every acknowledged outcome arrives once, in order."""
    a, b = make_hub(*cluster.seeds(), "--loops", "1"), make_hub(*cluster.seeds(), "--loops", "1")
    source, target = cluster.masters()[:2]
    source_id, target_id = cluster.cli(source, "CLUSTER", "MYID"), cluster.cli(target, "CLUSTER", "MYID")
    keys = [f"move-{i}" for i in range(120)]
    collector = Collector([b.url], [keys[i::2] for i in range(2)])
    moved_keys = []
    load = Publishers([a.http("")], keys, "move")
    try:
        time.sleep(1)
        slots_before = {k: int(cluster.cli(source, "CLUSTER", "KEYSLOT", "{" + k + "}")) for k in keys}
        subprocess.run(["redis-cli", "--cluster", "reshard", f"127.0.0.1:{source}", "--cluster-from", source_id,
                        "--cluster-to", target_id, "--cluster-slots", "3000", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        owned = cluster.cli(target, "CLUSTER", "NODES")
        wait_until(cluster.healthy, 20, "the cluster after the reshard")
        moved_keys = [k for k, slot in slots_before.items()
                      if cluster.cli(target, "CLUSTER", "COUNTKEYSINSLOT", str(slot)) not in ("", "0")]
        load.wait_accepted(150, 20, "publishes after the reshard")
    finally:
        load.close()
    assert moved_keys, f"the reshard moved none of the test's keys: {owned}"
    caught_up(collector, load, keys, kept_sockets=False)
    assert all(collector.got[k] for k in moved_keys)
    # The moves were met, not dodged: publishes were redirected and subscriptions followed anew.
    metrics = requests.get(a.http("/metrics"), timeout=5).text + requests.get(b.http("/metrics"), timeout=5).text
    counted = {name: sum(int(float(line.split()[-1])) for line in metrics.splitlines() if line.startswith(name + " "))
               for name in ("affinity_redis_redirections_total", "affinity_redis_map_reads_total")}
    assert counted["affinity_redis_redirections_total"] > 0 and counted["affinity_redis_map_reads_total"] > 0, counted


def test_callback_urls_and_action_links_work_on_whichever_node_they_reach(make_hub, redis):
    """Records in Redis: a callback URL or action link issued by one node is answered on another,
    once; racing answers spread over both nodes still record exactly one."""
    import concurrent.futures
    from test_callbacks import Service
    from test_engine import FIXTURES, Process, deploy, engine_call
    from test_action_links import start_approval
    from conftest import hub_binary
    service = Service()
    engine = Process([hub_binary(), "dev-engine", "--port", "0"], r"listening (http://127\.0\.0\.1:\d+)")
    try:
        deploy(engine.url, os.path.join(FIXTURES, "http-callback.bpmn"))
        deploy(engine.url, os.path.join(FIXTURES, "action-links.bpmn"))
        common = ["--camunda-url", engine.url, "--redis", redis.url, "--callback-base-url", service.url,
                  "--callback-secret", "s" * 40, "--loops", "1"]
        nodes = [make_hub(*common), make_hub(*common)]
        ports = {n.port: n for n in nodes}

        def elsewhere(url):
            """The same path on the node that did not issue the URL."""
            port = int(url.split("127.0.0.1:", 1)[1].split("/", 1)[0])
            other = next(n for p, n in ports.items() if p != port)
            return other.http("/" + url.split("/", 3)[3])

        # HTTP callbacks: answered on the other node, then repeats and conflicts on either.
        for round_ in range(3):
            key = f"nodes-cb-{round_}-{time.time_ns()}"
            r = engine_call(engine.url, "POST", "/v2/process-instances",
                            {"processDefinitionId": "http-callback-flow", "variables": {"affinityKey": key, "orderId": key, "item": "x"}})
            assert r.status_code == 200, r.text
            body = service.wait_for(round_ + 1)["body"]
            answer = {"data": {"trackingNumber": f"T-{round_}"}}
            calls = [(elsewhere(body["responsePath"]), answer)] * 3 + [(body["responsePath"], answer)] * 3 \
                + [(elsewhere(body["responsePath"]), {"data": {"trackingNumber": "OTHER"}}), (body["errorResponsePath"], {"errorCode": "NO"})]
            with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
                replies = list(pool.map(lambda c: requests.post(c[0], json=c[1], timeout=20), calls))
            assert all(r.status_code in (200, 409) for r in replies), [(r.status_code, r.text) for r in replies]
            winners = {json.dumps(r.json()["recorded"]["body"], sort_keys=True) for r in replies if r.status_code == 200}
            assert len(winners) == 1, [r.text for r in replies]
            result = requests.get(nodes[round_ % 2].http(f"/v1/outcomes/{key}?timeout=15"), timeout=20).json()
            assert result["status"] == "completed"
            assert requests.get(nodes[0].http(f"/v1/outcomes/{key}?after={result['seq']}&timeout=1"), timeout=5).status_code == 204

        # Action links: clicked on the other node, then seen as recorded on both.
        order, instance, variables = start_approval(engine.url)
        links = variables["actionLinks"]
        done = requests.post(elsewhere(links["approve"]), headers={"Accept": "application/json"}, timeout=15)
        assert done.status_code == 200 and done.json()["recordedAction"] == "approve", done.text
        again = requests.post(links["approve"], headers={"Accept": "application/json"}, timeout=15)
        assert again.status_code == 200 and again.json()["recordedAction"] == "approve"
        sibling = requests.post(links["deny"], headers={"Accept": "application/json"}, timeout=15)
        assert sibling.status_code == 409
        result = requests.get(nodes[1].http(f"/v1/outcomes/{order}?timeout=15"), timeout=20).json()
        assert result["data"]["decision"] == "approved"

        # Racing clicks on both links over both nodes: one choice, and every click told which. Four
        # rounds: a node once answered a click with the open form (a stale read undid its own change).
        for _ in range(4):
            order, instance, variables = start_approval(engine.url)
            links = variables["actionLinks"]
            urls = [links["approve"], elsewhere(links["approve"]), links["deny"], elsewhere(links["deny"])] * 3
            with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
                replies = list(pool.map(lambda u: requests.post(u, headers={"Accept": "application/json"}, timeout=20), urls))
            assert {r.status_code for r in replies} <= {200, 409}, [(r.status_code, r.text) for r in replies]
            assert all("recordedAction" in r.json() for r in replies), "every click answered with the choice: " + str([r.text for r in replies])
            chosen = {r.json()["recordedAction"] for r in replies}
            assert len(chosen) == 1, [r.text for r in replies]
            result = requests.get(nodes[0].http(f"/v1/outcomes/{order}?timeout=15"), timeout=20).json()
            assert result["data"]["decision"] == ("approved" if chosen.pop() == "approve" else "denied")
            assert requests.get(nodes[0].http(f"/v1/outcomes/{order}?after=1&timeout=1"), timeout=5).status_code == 204
    finally:
        engine.stop()
        service.close()


def test_rediss_with_a_password_and_a_wrong_password_is_not_ready_saying_why(make_hub, tmp_path, tls_files):
    """rediss:// to a redis-server with TLS on (certificate checked against --redis-ca-file and the
    URL's host name) and AUTH; a node with the wrong password never claims to be ready."""
    cert, key = tls_files
    port = free_port()
    proc = subprocess.Popen([need("redis-server"), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                             "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", cert, "--tls-auth-clients", "no",
                             "--requirepass", "s3cret:@/x", "--save", "", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "redis-server with TLS")
        url = f"rediss://:s3cret%3A%40%2Fx@localhost:{port}"
        a = make_hub("--redis", url, "--redis-ca-file", cert, "--loops", "1")
        b = make_hub("--redis", url, "--redis-ca-file", cert, "--loops", "1")
        wait_until(lambda: ready(a.http("")) and ready(b.http("")), 10, "both nodes ready over TLS")
        assert publish(a.http(""), "tls-1", {"over": "tls"}).status_code == 201
        got = requests.get(b.http("/v1/outcomes/tls-1?timeout=5"), timeout=10).json()
        assert got["data"] == {"over": "tls"}

        wrong = make_hub("--redis", f"rediss://:nope@localhost:{port}", "--redis-ca-file", cert, "--loops", "1")
        time.sleep(1)
        r = requests.get(wrong.http("/readyz"), timeout=5)
        assert r.status_code == 503 and "HELLO" in r.json()["message"], r.text
        refused = publish(wrong.http(""), "tls-2", 1)
        assert refused.status_code == 503 and refused.json()["error"] == "store_failed"
        # An untrusted certificate (no CA given) is refused too, never used.
        untrusted = make_hub("--redis", url, "--loops", "1")
        time.sleep(1)
        assert requests.get(untrusted.http("/readyz"), timeout=5).status_code == 503
    finally:
        proc.kill()
        proc.wait()
