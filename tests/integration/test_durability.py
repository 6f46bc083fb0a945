"""The durable log under real disk faults: a full file system (a small tmpfs), corrupt bytes, a
log that cannot be written. Acknowledged means stored: a 201 is never lost or contradicted by a
restart, a refused publish leaves no trace, a subscriber never sees what a restart forgets.

Mounting a tmpfs needs root (CI and the developers' machines run as root)."""
import glob
import json
import os
import signal
import subprocess
import threading
import time

import pytest
import requests
from websockets.sync.client import connect

from conftest import Hub, hub_binary

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs: a disk that really fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)])
    yield mount
    subprocess.call(["chattr", "-R", "-i", str(mount)], stderr=subprocess.DEVNULL)
    subprocess.call(["umount", "-l", str(mount)])


def fill(disk):
    """Writes a filler file until the disk is full; returns its path."""
    path = disk / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return path


def publish(hub, key, data, idem=None):
    headers = {"Idempotency-Key": idem} if idem else {}
    return requests.post(hub.http(f"/v1/outcomes/{key}"), json={"status": "progress", "data": data}, headers=headers, timeout=10)


def retained(hub, key):
    """Every retained outcome of key, by long-polls from seq 0 (each answers the next one)."""
    found, after = [], 0
    while True:
        r = requests.get(hub.http(f"/v1/outcomes/{key}?after={after}&timeout=0"), timeout=10)
        if r.status_code == 204:
            return found
        assert r.status_code == 200, r.text
        found.append(r.json())
        after = found[-1]["seq"]


class Subscriber:
    """A follow-mode WebSocket subscriber that records everything it is shown."""

    def __init__(self, hub, key):
        self.ws = connect(f"{hub.url}/v1/outcomes/{key}?follow=1").__enter__()
        self.seen = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while True:
                self.seen.append(json.loads(self.ws.recv()))
        except Exception:
            pass

    def close(self):
        self.ws.close()
        self.thread.join(5)


def test_a_full_disk_refuses_publishes_without_trace_and_every_acknowledged_outcome_survives(small_disk):
    log = small_disk / "outcomes.log"
    hub = Hub(["--store", "log", "--store-path", str(log)])
    try:
        watcher = Subscriber(hub, "order-1")
        acknowledged = []
        for i in range(3):
            r = publish(hub, "order-1", {"n": i, "pad": "x" * 200})
            assert r.status_code == 201
            acknowledged.append(r.json())

        filler = fill(small_disk)
        refused = 0
        for i in range(3, 60):
            r = publish(hub, "order-1", {"n": i, "pad": "x" * 1000})
            if r.status_code == 201:
                acknowledged.append(r.json())      # the log file's last page still had room
                continue
            assert r.status_code == 503 and r.json()["error"] == "store_failed", r.text
            assert "No space left on device" in r.json()["message"]
            refused += 1
        assert refused > 0

        # A refused publish is not "stored": retrying it with its idempotency key is refused again,
        # never answered 200 duplicate.
        big = {"retry": True, "pad": "y" * 1000}
        for _ in range(3):
            r = publish(hub, "order-1", big, idem="retry-1")
            assert r.status_code == 503, r.text

        # Readiness tells the load balancer; the operator sees it in the log.
        ready = requests.get(hub.http("/readyz"), timeout=5)
        assert ready.status_code == 503 and ready.json()["error"] == "store_failed"

        os.remove(filler)
        deadline = time.time() + 6
        while requests.get(hub.http("/readyz"), timeout=5).status_code != 200:
            assert time.time() < deadline, "the store never reported ready again after space was freed"
            time.sleep(0.2)

        r = publish(hub, "order-1", big, idem="retry-1")
        assert r.status_code == 201 and not r.json()["duplicate"], r.text
        acknowledged.append(r.json())
        for i in range(20):
            r = publish(hub, "order-1", {"after": i})
            assert r.status_code == 201
            acknowledged.append(r.json())
        time.sleep(0.5)
        watcher.close()
        # The subscriber saw exactly the acknowledged outcomes, in order: nothing refused.
        assert [o["id"] for o in watcher.seen] == [a["id"] for a in acknowledged]
    finally:
        hub.proc.kill()
        hub.proc.wait()
    assert "No space left on device" in hub.proc.stderr.read()

    restarted = Hub(["--store", "log", "--store-path", str(log)])
    try:
        after = retained(restarted, "order-1")
        assert [o["id"] for o in after] == [a["id"] for a in acknowledged]
        assert [o["seq"] for o in after] == [a["seq"] for a in acknowledged]
        assert len(set(o["seq"] for o in after)) == len(after)
    finally:
        assert restarted.stop() == 0


def test_a_corrupt_byte_in_the_middle_loses_one_record_keeps_the_rest_and_the_original(tmp_path):
    log = tmp_path / "outcomes.log"
    hub = Hub(["--store", "log", "--store-path", str(log)])
    for i in range(50):
        assert publish(hub, f"k{i}", {"n": i}).status_code == 201
    assert hub.stop() == 0
    original = bytearray(log.read_bytes())
    original[len(original) // 2] ^= 0x5A
    log.write_bytes(bytes(original))

    hub = Hub(["--store", "log", "--store-path", str(log), "--log-level", "error"])
    try:
        present = [i for i in range(50) if retained(hub, f"k{i}")]
        assert len(present) == 49 and present[-1] == 49, "everything after the damage is kept"
        aside = glob.glob(str(log) + ".damaged-*")
        assert len(aside) == 1 and open(aside[0], "rb").read() == bytes(original)
    finally:
        assert hub.stop() == 0
    err = hub.proc.stderr.read()
    assert "outcome log damaged" in err and "damaged_regions=1" in err and "records_recovered=49" in err


def start_expecting_failure(args, user=None):
    cmd = [hub_binary(), "serve", "--port", "0"] + args
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    return proc.returncode, proc.stderr


def make_log(path):
    hub = Hub(["--store", "log", "--store-path", str(path)])
    assert publish(hub, "kept", {"n": 1}).status_code == 201
    assert hub.stop() == 0
    return path.read_bytes()


def test_a_log_on_a_read_only_file_system_stops_the_hub_with_the_file_and_the_error_in_words(small_disk):
    log = small_disk / "outcomes.log"
    before = make_log(log)
    subprocess.check_call(["mount", "-o", "remount,ro", str(small_disk)])
    code, err = start_expecting_failure(["--store", "log", "--store-path", str(log)])
    assert code != 0
    assert str(log) in err and "Read-only file system" in err
    assert log.read_bytes() == before


def test_an_immutable_log_stops_the_hub_and_is_left_as_it_was(small_disk):
    log = small_disk / "outcomes.log"
    before = make_log(log)
    subprocess.check_call(["chattr", "+i", str(log)])
    code, err = start_expecting_failure(["--store", "log", "--store-path", str(log)])
    assert code != 0
    assert str(log) in err and "Operation not permitted" in err
    assert log.read_bytes() == before


def test_a_read_only_log_is_never_replaced_by_a_fresh_one(tmp_path):
    # Run as an unprivileged user who owns the directory (so it could rename a new file over the
    # log) but not the log itself: the hub must refuse, not start empty.
    folder = tmp_path / "state"
    folder.mkdir()
    log = folder / "outcomes.log"
    before = make_log(log)
    os.chmod(tmp_path, 0o755)
    os.chown(folder, 65534, 65534)
    os.chmod(log, 0o444)
    code, err = start_expecting_failure(["--store", "log", "--store-path", str(log)], user=65534)
    assert code != 0
    assert str(log) in err and "Permission denied" in err
    assert log.read_bytes() == before
