"""--log-format json: every line the hub logs is one JSON object with the fixed members and the
metadata as members, so a log shipper can parse it; an unknown format is refused at start."""
import json
import subprocess

import requests

from conftest import hub_binary


def test_json_logs_are_one_object_per_line(make_hub):
    hub = make_hub("--log-format", "json", "--log-level", "debug")
    assert requests.post(hub.http("/v1/outcomes/log-1"), json={"status": "completed", "data": {}}, timeout=5).status_code == 201
    assert hub.stop() == 0
    hub.stop = lambda *a, **k: 0
    lines = [l for l in hub.proc.stderr.read().splitlines() if l.strip()]
    assert lines, "the hub logged nothing"
    records = [json.loads(l) for l in lines]            # every line parses
    for r in records:
        assert {"ts", "level", "logger", "msg", "source"} <= set(r), r
    started = [r for r in records if r["msg"] == "affinity-hub started"]
    assert started and started[0]["store"] == "memory" and started[0]["level"] == "info"


def test_an_unknown_log_format_is_refused():
    run = subprocess.run([hub_binary(), "serve", "--port", "0", "--log-format", "xml"], capture_output=True, text=True, timeout=20)
    assert run.returncode != 0 and "--log-format is text or json" in run.stderr
