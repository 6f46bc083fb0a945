#!/usr/bin/env python3
"""Cross-node delivery through Redis: two hub nodes vs two nchan nodes on the same Redis.

Publish to node A, subscribe on node B (so every outcome crosses Redis), open-loop fan-in with
the shared load generator (wsload), side by side with nchan 1.3.6 storing in Redis
(`nchan_redis_url`). Each run gets a fresh redis-server and fresh servers, all pinned to CPU 0;
wsload runs on CPU 1. CPU is read from /proc for the two server processes (nginx: master and
worker) and redis-server over the measured window, so "total CPU" is the price of the whole
cross-node path. Loopback only; every process started here is stopped by its PID.

  scripts/bench-scale-out.py [--rates 5000 10000 20000] [--subs 5000] [--reps 2] [--wsload PATH]

Needs: a release build (swift build -c release --product affinity-hub), redis-server, nginx with
libnginx-mod-nchan, and wsload (make -C <bench dir>; --wsload or $WSLOAD). Prints a Markdown table
and writes one JSON line per run to --results (default /tmp/bench-scale-out.jsonl).
"""
import argparse, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
REDIS_PORT, A_PORT, B_PORT = 6399, 8095, 8096

NCHAN_CONF = """load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
daemon off; master_process on; worker_processes 1; worker_rlimit_nofile 20000; pid nchan.pid;
error_log logs/error.log error;
events { worker_connections 19900; use epoll; multi_accept on; }
http {
    access_log off;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    keepalive_requests 10000000; keepalive_timeout 300s; client_body_buffer_size 16k; client_max_body_size 64k;
    nchan_shared_memory_size 512M;
    nchan_redis_url "redis://127.0.0.1:%(redis)d";
    server {
        listen 127.0.0.1:%(port)d backlog=4096;
        location ~ /sub/(\\w+)$ { nchan_subscriber websocket; nchan_channel_id $1; nchan_use_redis on;
                                 nchan_subscriber_first_message oldest; nchan_websocket_ping_interval 0; }
        location ~ /pub/(\\w+)$ { nchan_publisher http; nchan_channel_id $1; nchan_use_redis on;
                                 nchan_message_buffer_length 1; nchan_message_timeout 60s; }
    }
}
"""


def wait_port(port, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1] == str(pid):
                    out.append(int(d))
            except OSError:
                pass
    return out


def start(cmd, **kw):
    return subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def servers(target, work):
    """Starts redis and the two nodes; returns (processes, pids to measure, sub URL, pub URL)."""
    redis = start(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                   "--appendfsync", "everysec", "--dir", work])
    wait_port(REDIS_PORT)
    procs = [redis]
    if target == "hub":
        binary = os.path.join(ROOT, ".build", "release", "affinity-hub")
        for port in (A_PORT, B_PORT):
            procs.append(start([binary, "serve", "--port", str(port), "--loops", "1", "--log-level", "error",
                                "--redis", f"redis://127.0.0.1:{REDIS_PORT}"]))
        sub, pub = f"ws://127.0.0.1:{B_PORT}/v1/outcomes/{{id}}?follow=1", f"http://127.0.0.1:{A_PORT}/v1/outcomes/{{id}}"
    else:
        for port in (A_PORT, B_PORT):
            prefix = os.path.join(work, f"nchan-{port}")
            os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
            os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
            open(os.path.join(prefix, "nginx.conf"), "w").write(NCHAN_CONF % {"redis": REDIS_PORT, "port": port})
            procs.append(start(["/usr/sbin/nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf")]))
        sub, pub = f"ws://127.0.0.1:{B_PORT}/sub/{{id}}", f"http://127.0.0.1:{A_PORT}/pub/{{id}}"
    for port in (A_PORT, B_PORT):
        wait_port(port)
    time.sleep(0.3)
    pids = [p.pid for p in procs] + [c for p in procs[1:] for c in children(p.pid)]
    return procs, pids, redis.pid, sub, pub


def run(target, rate, subs, seconds, wsload):
    work = tempfile.mkdtemp(prefix="bench-scale-out-")
    procs, pids, redis_pid, sub, pub = servers(target, work)
    try:
        warmup = 2
        args = ["taskset", "-c", "1", wsload, "--mode", "fanin", "-n", str(subs), "-r", str(rate), "-d", str(seconds),
                "-w", str(warmup), "--sub", sub, "--pub", pub, "-q"]
        window = {}

        def sample():
            # The measured window, roughly: after connecting (≈1 s for 5k) and the warm-up.
            time.sleep(1 + warmup)
            window["t0"], window["c0"], window["r0"] = time.monotonic(), cpu_ticks(pids), cpu_ticks([redis_pid])
            time.sleep(seconds - 0.5)
            window["t1"], window["c1"], window["r1"] = time.monotonic(), cpu_ticks(pids), cpu_ticks([redis_pid])

        sampler = threading.Thread(target=sample)
        sampler.start()
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + warmup + 120)
        sampler.join()
        result = json.loads(out.stdout.strip().splitlines()[-1])
        wall = window["t1"] - window["t0"]
        result["total_cpu_pct"] = round(100 * (window["c1"] - window["c0"]) / HZ / wall, 1)
        result["redis_cpu_pct"] = round(100 * (window["r1"] - window["r0"]) / HZ / wall, 1)
        return result
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--subs", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--targets", nargs="+", default=["hub", "nchan"])
    parser.add_argument("--wsload", default=os.environ.get("WSLOAD", os.path.join(ROOT, "..", "shared", "bench", "wsload")))
    parser.add_argument("--results", default="/tmp/bench-scale-out.jsonl")
    a = parser.parse_args()
    if not os.access(a.wsload, os.X_OK):
        sys.exit(f"no wsload at {a.wsload}: build it (make -C <bench dir>) and pass --wsload")
    rows = {}
    with open(a.results, "a") as log:
        for rep in range(a.reps):
            for rate in a.rates:
                for target in a.targets:     # interleaved, so drift hits both alike
                    r = run(target, rate, a.subs, a.seconds, a.wsload)
                    log.write(json.dumps({"target": target, "rate": rate, "rep": rep, "result": r}) + "\n")
                    log.flush()
                    lat = r["lat_sched_to_msg_us"]
                    print(f"[{target} {rate}/s rep {rep}] delivered {r['delivered_per_s']:.0f}/s lost {r['lost']} "
                          f"p50 {lat['p50']:.0f} µs p99 {lat['p99']:.0f} µs cpu {r['total_cpu_pct']}% (redis {r['redis_cpu_pct']}%)",
                          file=sys.stderr)
                    rows.setdefault((target, rate), []).append(r)
    print("| target | offered/s | delivered/s | lost | p50 µs | p99 µs | total CPU % (2 nodes + Redis) | Redis CPU % | CPU-µs per outcome |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (target, rate), rs in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        med = lambda f: statistics.median(f(r) for r in rs)
        delivered = med(lambda r: r["delivered_per_s"])
        cpu = med(lambda r: r["total_cpu_pct"])
        print(f"| {target} | {rate} | {delivered:.0f} | {med(lambda r: r['lost']):.0f} | {med(lambda r: r['lat_sched_to_msg_us']['p50']):.0f} | "
              f"{med(lambda r: r['lat_sched_to_msg_us']['p99']):.0f} | {cpu:.0f} | {med(lambda r: r['redis_cpu_pct']):.0f} | "
              f"{cpu * 1e4 / max(delivered, 1):.1f} |")


if __name__ == "__main__":
    main()
