"""Outcome webhook throughput: N outcomes over K keys are published first (no endpoint yet, so
publishing costs nothing extra), then E endpoints register for every key, which queues all N
retained outcomes for each at once; the script waits until the hub reports E×N delivered and
prints deliveries per second and the hub's CPU time per 1000 deliveries (from /proc). The
receiver is Debian's nginx answering 204 on loopback, so the hub is what is measured.

    .venv/bin/python bench/webhooks.py --hub-bin .build/release/affinity-hub [-n 20000] [-k 2000] [-e 1]

Loopback only; the hub runs with --loops 1 and --webhook-allow-private (the receiver is local).
"""
import argparse
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_nginx(directory):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; daemon off; pid {directory}/nginx.pid; error_log {directory}/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:0; location / {{ return 204; }} }} }}""")
    # nginx needs a fixed port: take one the kernel hands out and free it.
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    with open(conf) as f:
        text = f.read().replace("127.0.0.1:0", f"127.0.0.1:{port}")
    with open(conf, "w") as f:
        f.write(text)
    proc = subprocess.Popen(["taskset", "-c", "1", nginx, "-c", conf, "-p", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub-bin", default=".build/release/affinity-hub")
    ap.add_argument("-n", type=int, default=20000, help="outcomes")
    ap.add_argument("-k", type=int, default=2000, help="keys")
    ap.add_argument("-e", type=int, default=1, help="endpoints")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-webhooks-")
    nginx, nginx_port = start_nginx(work)
    hub = subprocess.Popen(["taskset", "-c", "0", args.hub_bin, "serve", "--port", "0", "--loops", "1", "--webhook-allow-private",
                            "--retention", "3600", "--max-retained-bytes", str(1 << 30), "--max-outcomes-per-key", "1000",
                            "--webhook-max-pending", "1000000"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = hub.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def call(method, path, body=None):
            conn.request(method, path, json.dumps(body) if body is not None else None, {"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"null")

        for i in range(args.n):
            status, _ = call("POST", f"/v1/outcomes/bench-{i % args.k}", {"status": "progress", "data": {"i": i, "pad": "x" * 100}})
            assert status == 201, status
        started, cpu0 = time.time(), cpu_seconds(hub.pid)
        for _ in range(args.e):
            status, _ = call("POST", "/v1/webhooks", {"url": f"http://127.0.0.1:{nginx_port}/hook", "keys": ["bench-*"]})
            assert status == 201, status
        total = args.n * args.e
        while True:
            _, stats = call("GET", "/v1/webhooks/stats")
            if stats["delivered"] + stats["deadLetters"] >= total:
                break
            time.sleep(0.05)
        elapsed, cpu = time.time() - started, cpu_seconds(hub.pid) - cpu0
        print(f"endpoints={args.e} outcomes={args.n} keys={args.k} deliveries={total} seconds={elapsed:.2f} "
              f"deliveries_per_s={total / elapsed:.0f} hub_cpu_s={cpu:.2f} hub_cpu_ms_per_1000={1000 * cpu / total * 1000:.1f} "
              f"failed_attempts={stats['failedAttempts']} dead_letters={stats['deadLetters']}")
    finally:
        hub.terminate(); hub.wait()
        nginx.terminate(); nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
