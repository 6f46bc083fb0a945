"""Outcome webhooks against a real receiver that checks every signature with the `standardwebhooks`
package: matching, order and signatures; retained outcomes on registration; an endpoint down for a
while; kill -9 mid-queue; 410; dead letters and replay; a slow endpoint beside a fast one; refused
destinations; secret rotation; auth and bad input."""
import json
import os
import signal
import socket
import time

import pytest
import requests

from conftest import Hub
from webhook_receiver import Receiver, envelopes

FAST = ["--webhook-allow-private", "--webhook-retry-schedule", "200ms,300ms,500ms,1s"]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def register(hub, receiver, path, keys, headers=None, **extra):
    r = requests.post(hub.http("/v1/webhooks"), json={"url": receiver.url(path), "keys": keys, **extra}, headers=headers or {}, timeout=10)
    assert r.status_code == 201, r.text
    receiver.trust(path, r.json()["secret"])
    return r.json()


def publish(hub, key, i, status="progress", headers=None):
    r = requests.post(hub.http(f"/v1/outcomes/{key}"), json={"status": status, "data": {"i": i}}, headers=headers or {}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def by_key(items):
    seqs = {}
    for e in envelopes(items):
        seqs.setdefault(e["key"], []).append(e["seq"])
    return seqs


def endpoint(hub, id_):
    return requests.get(hub.http(f"/v1/webhooks/{id_}"), timeout=10).json()


def test_matching_outcomes_arrive_signed_and_in_order_per_key(make_hub, receiver):
    hub = make_hub(*FAST)
    everything = register(hub, receiver, "/all", ["order-*"])
    terminal = register(hub, receiver, "/terminal", ["order-2"], statuses=["completed", "failed"], description="only the end")
    assert "secret" not in endpoint(hub, everything["id"]) and endpoint(hub, terminal["id"])["description"] == "only the end"
    sent = []
    for i in range(12):
        key = f"order-{i % 3}"
        sent.append(publish(hub, key, i, status="completed" if i >= 9 else "progress"))
    publish(hub, "invoice-1", 99)                      # matches neither endpoint
    items = receiver.wait_for("/all", 12)
    assert all(verified for _, _, verified in items), "every request verifies with standardwebhooks"
    assert by_key(items) == {"order-0": [1, 2, 3, 4], "order-1": [1, 2, 3, 4], "order-2": [1, 2, 3, 4]}
    ids = {h["webhook-id"] for h, _, _ in items}
    assert ids == {e["id"] for e in envelopes(items)} == {s["id"] for s in sent}, "webhook-id is the outcome id"
    first = envelopes(items)[0]
    assert first["type"] == "outcome" and set(first) == {"type", "key", "seq", "id", "status", "publishedAt", "data"}
    only_end = receiver.wait_for("/terminal", 1)
    time.sleep(0.5)
    assert [(e["key"], e["status"]) for e in envelopes(receiver.received("/terminal"))] == [("order-2", "completed")]
    assert all(v for _, _, v in only_end)
    metrics = requests.get(hub.http("/metrics"), timeout=10).text
    assert f'affinity_webhook_delivered_total{{endpoint="{everything["id"]}"}} 12' in metrics


def test_outcomes_retained_before_registration_are_delivered_too(make_hub, receiver):
    hub = make_hub(*FAST)
    publish(hub, "early-1", 1, status="completed")
    register(hub, receiver, "/late", ["early-1"])
    [(_, body, verified)] = receiver.wait_for("/late", 1)
    assert json.loads(body)["key"] == "early-1" and verified


def test_an_endpoint_down_for_a_while_gets_everything_once_in_order(make_hub, receiver):
    hub = make_hub(*FAST)
    receiver.set("/flaky", status=503)
    hook = register(hub, receiver, "/flaky", ["pay-*"])
    for i in range(5):
        publish(hub, "pay-1", i)
    receiver.wait_for("/flaky", 3)                    # failed attempts of the head, only the head
    assert {json.loads(b)["seq"] for _, b, _ in receiver.received("/flaky")} == {1}, "later seqs wait behind the first"
    receiver.set("/flaky", status=204)
    deadline = time.time() + 15
    while endpoint(hub, hook["id"])["stats"]["delivered"] < 5:
        assert time.time() < deadline, endpoint(hub, hook["id"])
        time.sleep(0.1)
    accepted = [json.loads(b)["seq"] for h, b, _ in receiver.received("/flaky")]
    # Attempts of seq 1 that got 503, then each seq once, in order.
    assert accepted[accepted.count(1) - 1:] == [1, 2, 3, 4, 5]
    stats = endpoint(hub, hook["id"])["stats"]
    assert stats["retried"] >= 2 and stats["pending"] == 0 and stats["deadLettered"] == 0


def test_kill_9_mid_queue_loses_no_acknowledged_outcome(make_hub, receiver, tmp_path):
    log = str(tmp_path / "outcomes.log")
    args = [*FAST, "--store", "log", "--store-path", log]
    hub = make_hub(*args)
    receiver.set("/durable", status=500)
    hook = register(hub, receiver, "/durable", ["ship-*"])
    acknowledged = [publish(hub, f"ship-{i % 2}", i)["id"] for i in range(10)]
    receiver.wait_for("/durable", 2)
    hub.proc.send_signal(signal.SIGKILL)
    hub.proc.wait()
    hub.stop = lambda *a, **k: 0
    receiver.set("/durable", status=200)
    again = make_hub(*args)
    assert endpoint(again, hook["id"])["url"] == receiver.url("/durable"), "the registration survived"
    deadline = time.time() + 20
    while True:
        delivered = {h["webhook-id"] for h, b, _ in receiver.received("/durable")}
        if set(acknowledged) <= delivered:
            break
        assert time.time() < deadline, (len(delivered), endpoint(again, hook["id"]))
        time.sleep(0.1)
    assert all(v for _, _, v in receiver.received("/durable")), "signed with the secret kept across the restart"
    ok = [json.loads(b) for h, b, _ in receiver.received("/durable")]
    for key in ("ship-0", "ship-1"):
        seqs = [e["seq"] for e in ok if e["key"] == key]
        last_firsts = max(i for i, s in enumerate(seqs) if s == 1)
        assert seqs[last_firsts:] == sorted(set(seqs[last_firsts:])), seqs


def test_410_unregisters_the_endpoint(make_hub, receiver):
    hub = make_hub(*FAST)
    receiver.set("/gone", status=410)
    hook = register(hub, receiver, "/gone", ["bye-*"])
    publish(hub, "bye-1", 1)
    receiver.wait_for("/gone", 1)
    deadline = time.time() + 5
    while requests.get(hub.http(f"/v1/webhooks/{hook['id']}"), timeout=5).status_code != 404:
        assert time.time() < deadline
        time.sleep(0.05)
    publish(hub, "bye-1", 2)
    time.sleep(0.5)
    assert len(receiver.received("/gone")) == 1


def test_a_spent_schedule_dead_letters_and_a_replay_delivers(make_hub, receiver):
    hub = make_hub("--webhook-allow-private", "--webhook-retry-schedule", "100ms,100ms")
    receiver.set("/dead", status=500)
    hook = register(hub, receiver, "/dead", ["dl-1"])
    publish(hub, "dl-1", 1)
    publish(hub, "dl-1", 2)
    deadline = time.time() + 10
    while len(requests.get(hub.http(f"/v1/webhooks/{hook['id']}/dead-letters"), timeout=5).json()["deadLetters"]) < 2:
        assert time.time() < deadline, endpoint(hub, hook["id"])
        time.sleep(0.1)
    letters = requests.get(hub.http(f"/v1/webhooks/{hook['id']}/dead-letters"), timeout=5).json()["deadLetters"]
    assert [(d["seq"], d["attempts"]) for d in letters] == [(1, 3), (2, 3)] and "HTTP 500" in letters[0]["reason"]
    assert requests.get(hub.http("/v1/webhooks/stats"), timeout=5).json()["deadLetters"] == 2
    receiver.set("/dead", status=200)
    one = requests.post(hub.http(f"/v1/webhooks/{hook['id']}/dead-letters/{letters[0]['id']}/replay"), timeout=5)
    assert one.status_code == 202 and one.json()["replayed"] == 1
    rest = requests.post(hub.http(f"/v1/webhooks/{hook['id']}/dead-letters/replay"), timeout=5)
    assert rest.status_code == 202 and rest.json()["replayed"] == 1
    deadline = time.time() + 10
    while endpoint(hub, hook["id"])["stats"]["delivered"] < 2:
        assert time.time() < deadline
        time.sleep(0.05)
    assert requests.post(hub.http(f"/v1/webhooks/{hook['id']}/dead-letters/nope:1/replay"), timeout=5).status_code == 404


def test_a_slow_endpoint_does_not_delay_a_fast_one(make_hub, receiver):
    hub = make_hub(*FAST, "--webhook-timeout", "30")
    receiver.set("/slow", sleep=3)
    slow = register(hub, receiver, "/slow", ["race-*"])
    register(hub, receiver, "/fast", ["race-*"])
    started = time.time()
    for i in range(20):
        publish(hub, f"race-{i}", i)
    receiver.wait_for("/fast", 20, timeout=5)
    assert time.time() - started < 2.5, "the fast endpoint got everything while the slow one was still answering"
    assert endpoint(hub, slow["id"])["stats"]["inFlight"] == 4, "the slow one at its in-flight cap"


def test_destinations_outside_the_policy_are_refused(make_hub, receiver):
    hub = make_hub()
    for url in [receiver.url("/x"), f"http://localhost:{receiver.port}/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                "http://[::1]/x", "ftp://example.com/x"]:
        r = requests.post(hub.http("/v1/webhooks"), json={"url": url, "keys": ["k"]}, timeout=5)
        assert r.status_code == 400 and r.json()["error"] in ("destination_refused", "invalid_webhook"), (url, r.text)
    # A name that resolves to loopback passes the name check and is refused on the address connected to.
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        address = ""
    if address.startswith("127."):
        allow = make_hub("--webhook-retry-schedule", "100ms")
        r = requests.post(allow.http("/v1/webhooks"), json={"url": f"http://{name}:{receiver.port}/dns", "keys": ["dns-1"]}, timeout=5)
        assert r.status_code == 201, r.text
        publish(allow, "dns-1", 1)
        deadline = time.time() + 5
        while not endpoint(allow, r.json()["id"])["stats"]["deadLettered"]:
            assert time.time() < deadline, endpoint(allow, r.json()["id"])
            time.sleep(0.05)
        assert "loopback" in endpoint(allow, r.json()["id"])["stats"]["lastError"]
        assert receiver.received("/dns") == []
    # Redirects are never followed: the target is not called, the attempt fails.
    dev = make_hub(*FAST)
    receiver.set("/redirect", status=302, location=receiver.url("/target"))
    hook = register(dev, receiver, "/redirect", ["r-1"])
    publish(dev, "r-1", 1)
    receiver.wait_for("/redirect", 2)
    assert receiver.received("/target") == []
    assert "redirects are not followed" in endpoint(dev, hook["id"])["stats"]["lastError"]


def test_a_rotated_secret_signs_beside_the_new_one_for_its_grace(make_hub, receiver):
    hub = make_hub(*FAST)
    hook = register(hub, receiver, "/rotate", ["rot-1"])
    old = hook["secret"]
    rotated = requests.post(hub.http(f"/v1/webhooks/{hook['id']}/rotate-secret"), json={"graceSeconds": 3600}, timeout=5).json()
    new = rotated["secret"]
    assert new != old and rotated["previousValidUntil"] > time.time() * 1000
    receiver.trust("/rotate", new)
    publish(hub, "rot-1", 1)
    [(headers, _, verified)] = receiver.wait_for("/rotate", 1)
    assert len(headers["webhook-signature"].split(" ")) == 2 and set(verified) == {old, new}, "both secrets verify during the grace"
    requests.post(hub.http(f"/v1/webhooks/{hook['id']}/rotate-secret"), json={"graceSeconds": 0}, timeout=5)
    newest = requests.get(hub.http(f"/v1/webhooks/{hook['id']}"), timeout=5).json()
    assert newest["secretRotation"] is not None
    publish(hub, "rot-1", 2)
    items = receiver.wait_for("/rotate", 2)
    assert items[1][2] == [], "neither earlier secret verifies once the grace is over"


def test_registration_needs_the_publisher_key_and_refuses_bad_input(make_hub, receiver):
    hub = make_hub("--webhook-allow-private", "--publisher-key", "pk-secret")
    body = {"url": receiver.url("/auth"), "keys": ["a-*"]}
    assert requests.post(hub.http("/v1/webhooks"), json=body, timeout=5).status_code == 401
    assert requests.get(hub.http("/v1/webhooks"), timeout=5).status_code == 401
    auth = {"Authorization": "Bearer pk-secret"}
    for bad in [b"not json", b"[]", json.dumps({"url": receiver.url("/a")}).encode(), json.dumps({**body, "keys": []}).encode(),
                json.dumps({**body, "keys": ["bad key"]}).encode(), json.dumps({**body, "keys": ["a*b"]}).encode(),
                json.dumps({**body, "statuses": ["done"]}).encode(), json.dumps({**body, "extra": 1}).encode(),
                json.dumps({**body, "keys": ["k"] * 101}).encode(), json.dumps({**body, "url": "x" * 3000}).encode()]:
        r = requests.post(hub.http("/v1/webhooks"), data=bad, headers={**auth, "Content-Type": "application/json"}, timeout=5)
        assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json") and r.json()["error"], (bad[:60], r.text)
    hook = register(hub, receiver, "/auth", ["a-*"], headers=auth)
    assert requests.delete(hub.http(f"/v1/webhooks/{hook['id']}"), timeout=5).status_code == 401
    assert requests.delete(hub.http(f"/v1/webhooks/{hook['id']}"), headers=auth, timeout=5).status_code == 204
    assert requests.get(hub.http(f"/v1/webhooks/{hook['id']}"), headers=auth, timeout=5).status_code == 404
    assert requests.get(hub.http("/v1/webhooks/stats"), timeout=5).json()["endpoints"] == 0, "totals are public"
