"""Fixtures that start the real hub binary on loopback, on ephemeral ports, and stop it by PID.

The binary comes from HUB_BIN, or from `swift build --show-bin-path` (debug build by default).
"""
import os
import re
import resource
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Hubs stopped with SIGTERM would each hold their listeners open for the 5 s drain grace; the
# tests that are about the grace set it themselves.
os.environ.setdefault("AFFINITY_DRAIN_GRACE", "0")


def hub_binary():
    if os.environ.get("HUB_BIN"):
        return os.environ["HUB_BIN"]
    path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()
    return os.path.join(path, "affinity-hub")


class Hub:
    """A running hub process: its ports, and how to stop it."""

    def __init__(self, args, tls_files=None, nofile=None, env=None):
        cmd = [hub_binary(), "serve", "--port", "0", "--log-level", "warning"] + args
        if tls_files:
            cmd += ["--tls-cert", tls_files[0], "--tls-key", tls_files[1], "--tls-port", "0"]
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) if nofile else None
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limit,
                                     env={**os.environ, **(env or {})})
        self.port = None
        self.tls_port = None
        deadline = time.time() + 15
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.match(r"listening (https?)://[^:]+:(\d+)", line)
            if m:
                if m.group(1) == "http":
                    self.port = int(m.group(2))
                else:
                    self.tls_port = int(m.group(2))
            if self.port and (not tls_files or self.tls_port):
                break
        if not self.port:
            self.proc.kill()
            raise RuntimeError("hub did not start: " + self.proc.stderr.read())

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    def http(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def alive(self):
        return self.proc.poll() is None

    def cpu_seconds(self):
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def make_hub():
    hubs = []

    def start(*args, tls_files=None, nofile=None, env=None):
        hub = Hub(list(args), tls_files=tls_files, nofile=nofile, env=env)
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        code = hub.stop()
        assert code == 0, f"hub exited with {code}: {hub.proc.stderr.read()}"


@pytest.fixture(scope="module")
def hub():
    h = Hub(["--echo-path", "/echo", "--max-frame-bytes", "1048576", "--max-message-bytes", "4194304",
             "--header-timeout", "2", "--loops", "2"])
    yield h
    code = h.stop()
    assert code == 0, f"hub exited with {code}: {h.proc.stderr.read()}"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.check_call(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                           "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def chromium(window_size=None):
    """Headless Chromium through Debian's chromium-driver (installed by scripts/install-deps.sh);
    skipped on a developer machine without it, a failure in CI."""
    import shutil
    if not shutil.which("chromedriver"):
        if os.environ.get("CI"):
            pytest.fail("chromedriver is missing (scripts/install-deps.sh installs chromium-driver)")
        pytest.skip("no chromedriver on this machine")
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] + ([f"--window-size={window_size}"] if window_size else []):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))


def free_port():
    """A loopback port nothing listens on now (for servers that need their port given)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(site, directory, port):
    """Debian's nginx (installed by scripts/install-deps.sh) serving the server block `site` from
    `directory` (a pytest tmp_path), in the foreground, until it listens on `port`. Skipped on a
    developer machine without nginx, a failure in CI. Stop it with terminate()."""
    import shutil
    import socket
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing (scripts/install-deps.sh --with-python installs it)")
        pytest.skip("no nginx on this machine")
    d = str(directory)
    (directory / "site.conf").write_text(site)
    temps = " ".join(f"{name}_temp_path {d}/{name};" for name in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    (directory / "nginx.conf").write_text(f"worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log;\n"
                                          f"events {{ worker_connections 4096; }}\n"
                                          f"http {{ access_log off; {temps} include {d}/site.conf; }}\n")
    proc = subprocess.Popen([nginx, "-c", f"{d}/nginx.conf", "-p", d], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.time() < deadline, "nginx did not start"
            time.sleep(0.05)
