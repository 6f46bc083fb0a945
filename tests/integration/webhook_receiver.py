"""A webhook receiver for the tests: a threaded HTTP server on loopback whose paths behave as told
(answer a status, sleep, redirect), recording every request and checking each signature with the
`standardwebhooks` package (an independent implementation of the specification).

Signatures are checked when the test reads the requests, against every secret trusted by then: a
delivery may arrive before the registration's response has told the test its secret (the hub
delivers retained outcomes at once)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []          # (path, headers, body)
        self.behaviour = {}         # path -> dict(status=, sleep=, location=)
        self.secrets = {}           # path -> [secret, ...] any of which must verify
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = self.path
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    rule = dict(receiver.behaviour.get(path, {}))
                    receiver.requests.append((path, headers, body))
                if rule.get("sleep"):
                    time.sleep(rule["sleep"])
                status = rule.get("status", 200)
                self.send_response(status)
                if rule.get("location"):
                    self.send_header("Location", rule["location"])
                if status in (204, 304):
                    self.end_headers()          # no body, as HTTP says for these
                else:
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path, **rule):
        with self.lock:
            self.behaviour[path] = rule

    def trust(self, path, secret):
        with self.lock:
            self.secrets.setdefault(path, []).append(secret)

    def received(self, path, ok_only=True):
        """Bodies (parsed) and headers of the requests to `path` that were answered 2xx (or all)."""
        with self.lock:
            items = [(h, b) for p, h, b in self.requests if p == path]
            secrets = list(self.secrets.get(path, []))
        return [(h, b, self.verified_by(secrets, h, b)) for h, b in items]

    @staticmethod
    def verified_by(secrets, headers, body):
        """The secrets whose signature is among the request's."""
        verified = []
        for secret in secrets:
            try:
                standardwebhooks.Webhook(secret).verify(body, headers)
                verified.append(secret)
            except Exception:
                pass
        return verified

    def wait_for(self, path, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received(path)) >= count:
                return self.received(path)
            time.sleep(0.05)
        raise AssertionError(f"{path}: {len(self.received(path))} requests, expected {count}")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def envelopes(items):
    return [json.loads(b) for _, b, _ in items]
