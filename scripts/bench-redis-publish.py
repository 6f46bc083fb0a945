#!/usr/bin/env python3
"""What one publish costs Redis: the shared store's publish script (Sources/RedisStore/RedisScripts.swift)
run N times on a fresh redis-server, as the nodes run it (EVALSHA, pipelined, one sharded pub/sub
subscriber following every key so SPUBLISH delivers), then Redis's own accounting: microseconds per
call (INFO commandstats) and server CPU per publish (used_cpu_user + used_cpu_sys).

  scripts/bench-redis-publish.py [--publishes 200000] [--keys 5000] [--data-bytes 100] [--idempotency]

Used to tune the script: run it before and after a change, on an idle machine. Loopback only; the
redis-server it starts is stopped by its PID.
"""
import argparse, os, re, shutil, socket, subprocess, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lua(name):
    text = open(os.path.join(ROOT, "Sources/RedisStore/RedisScripts.swift")).read()
    body = re.search(r'static let %s = """\n(.*?)\n\s*"""' % name, text, re.S).group(1)
    return "\n".join(line[4:] if line.startswith("    ") else line for line in body.split("\n"))


def command(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        p = p if isinstance(p, bytes) else str(p).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


class Replies:
    """Counts complete top-level RESP2 replies on a socket (enough to pace a pipeline)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def value(self):
        line = self.line()
        kind = line[:1]
        if kind == b"$":
            n = int(line[1:])
            if n >= 0:
                while len(self.buf) < n + 2:
                    self.buf += self.sock.recv(1 << 20)
                value, self.buf = self.buf[:n], self.buf[n + 2:]
                return value
            return None
        if kind in (b"*", b">"):
            return [self.value() for _ in range(max(0, int(line[1:])))]
        if kind == b"-":
            raise RuntimeError(line.decode())
        return line[1:]


def info(sock, replies, section):
    sock.sendall(command("INFO", section))
    return replies.value().decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--publishes", type=int, default=200_000)
    ap.add_argument("--keys", type=int, default=5000)
    ap.add_argument("--data-bytes", type=int, default=100)
    ap.add_argument("--idempotency", action="store_true", help="give each publish an idempotency key")
    ap.add_argument("--port", type=int, default=6398)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-redis-")
    redis = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(args.port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                sock = socket.create_connection(("127.0.0.1", args.port))
                break
            except OSError:
                time.sleep(0.05)
        replies = Replies(sock)
        sock.sendall(command("SCRIPT", "LOAD", lua("publish")))
        sha = replies.value()
        keys = [f"bench-{i}" for i in range(args.keys)]
        # One subscriber following every key, as node B follows its subscribers' keys.
        sub = socket.create_connection(("127.0.0.1", args.port))
        sub.sendall(b"".join(command("SSUBSCRIBE", f"affinity:{{{k}}}") for k in keys))
        delivered = [0]

        def drain():
            while True:
                data = sub.recv(1 << 20)
                if not data:
                    return
                delivered[0] += data.count(b"smessage")
        threading.Thread(target=drain, daemon=True).start()
        time.sleep(0.5)
        sock.sendall(command("CONFIG", "RESETSTAT")); replies.value()
        before = info(sock, replies, "cpu")
        cpu0 = sum(float(v) for k, v in re.findall(r"(used_cpu_(?:user|sys)):([\d.]+)", before))
        data = b'{"v":"' + b"x" * max(0, args.data_bytes - 8) + b'"}'
        now = int(time.time() * 1000)
        batch = 100
        start = time.time()
        for first in range(0, args.publishes, batch):
            out = []
            for i in range(first, min(first + batch, args.publishes)):
                k = keys[i % len(keys)]
                oid = f"o-{i}".encode()
                idem = oid if args.idempotency else b""
                tail = b"".join(b"%d:%s" % (len(f), f) for f in (oid, b"completed", str(now).encode(), str(now + 3_600_000).encode(), idem, data))
                out.append(command("EVALSHA", sha, 2, f"affinity:{{{k}}}:log", f"affinity:{{{k}}}:meta", f"affinity:{{{k}}}", now,
                                   idem, 1000, 1 << 20, len(data) + 200, now + 3_600_000, now + 7_200_000, tail))
            sock.sendall(b"".join(out))
            for _ in out:
                replies.value()
        elapsed = time.time() - start
        after = info(sock, replies, "cpu")
        cpu1 = sum(float(v) for k, v in re.findall(r"(used_cpu_(?:user|sys)):([\d.]+)", after))
        stats = info(sock, replies, "commandstats")
        per_call = float(re.search(r"cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)", stats).group(1))
        time.sleep(0.3)
        print(f"publishes {args.publishes} over {args.keys} keys, data {args.data_bytes} B, idempotency {'on' if args.idempotency else 'off'}")
        print(f"  script in Redis:    {per_call:.2f} us per publish (commandstats)")
        print(f"  Redis CPU:          {(cpu1 - cpu0) / args.publishes * 1e6:.2f} us per publish (script, protocol, pub/sub)")
        print(f"  rate:               {args.publishes / elapsed:,.0f} publishes/s from one pipelined connection")
        print(f"  delivered:          {delivered[0]} of {args.publishes} to the subscriber")
    finally:
        redis.send_signal(15)
        redis.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
