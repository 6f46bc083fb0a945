"""Start-to-outcome through the engine path: N instances of a start → publish-outcome → end
process, created over REST by C threads against the hub's embedded dev engine, while one
multiplexed WebSocket (/v1/ws) is subscribed to every instance's key. Prints throughput and the
latency from "create sent" to "outcome received" (p50/p90/p99/max). Loopback only.

    .venv/bin/python bench/engine_roundtrip.py --hub http://127.0.0.1:8080 [-n 2000] [-c 8]
"""
import argparse
import asyncio
import http.client
import json
import os
import threading
import time
import uuid

import websockets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub", default="http://127.0.0.1:8080")
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-c", type=int, default=8)
    args = ap.parse_args()
    host, port = args.hub.split("//")[1].split(":")
    port = int(port)

    with open(os.path.join(os.path.dirname(__file__), "publish-only.bpmn"), "rb") as f:
        model = f.read()
    boundary = "bench" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"resources\"; filename=\"publish-only.bpmn\"\r\n"
            f"Content-Type: application/xml\r\n\r\n").encode() + model + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(host, port)
    conn.request("POST", "/v2/deployments", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert conn.getresponse().status == 200

    keys = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(args.n)]
    sent, received = {}, {}
    subscribed = threading.Event()
    done = threading.Event()

    async def listen():
        async with websockets.connect(f"ws://{host}:{port}/v1/ws", subprotocols=["affinity.v1"], max_size=None) as ws:
            for k in keys:
                await ws.send(json.dumps({"type": "subscribe", "key": k}))
            acks = 0
            while acks < len(keys):
                if json.loads(await ws.recv()).get("type") == "subscribed":
                    acks += 1
            subscribed.set()
            while len(received) < len(keys):
                m = json.loads(await ws.recv())
                if m.get("type") == "outcome":
                    received[m["key"]] = time.perf_counter()
            done.set()

    listener = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
    listener.start()
    subscribed.wait(60)

    def create(chunk):
        c = http.client.HTTPConnection(host, port)
        for k in chunk:
            payload = json.dumps({"processDefinitionId": "publish-only", "variables": {"affinityKey": k, "n": 1}})
            sent[k] = time.perf_counter()
            c.request("POST", "/v2/process-instances", payload, {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            assert r.status == 200

    started = time.perf_counter()
    threads = [threading.Thread(target=create, args=(keys[i::args.c],)) for i in range(args.c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.wait(120)
    elapsed = time.perf_counter() - started
    lat = sorted((received[k] - sent[k]) * 1000 for k in keys if k in received)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"instances {args.n}  delivered {len(lat)}  in {elapsed:.2f} s  → {len(lat) / elapsed:.0f} outcomes/s")
    print(f"create→outcome latency ms: p50 {q(0.5):.1f}  p90 {q(0.9):.1f}  p99 {q(0.99):.1f}  max {lat[-1]:.1f}")


if __name__ == "__main__":
    main()
