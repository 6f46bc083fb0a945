"""/metrics with the swift-metrics histograms (rendered by swift-prometheus): publish-to-deliver
latency, durable-store writes and the engine client's calls by call shape, beside the hub's
counters, in valid Prometheus text."""
import os
import time

import requests

from conftest import ROOT
from test_engine import engine_call


def scrape(hub):
    return requests.get(hub.http("/metrics"), timeout=5).text


def test_latency_histograms_appear_for_publishes_store_writes_and_engine_calls(make_hub, tmp_path):
    hub = make_hub("--dev-engine", "--store", "log", "--store-path", str(tmp_path / "o.log"))
    with open(os.path.join(ROOT, "bench", "publish-only.bpmn"), "rb") as f:
        assert requests.post(hub.http("/v2/deployments"), files={"resources": ("p.bpmn", f.read())}, timeout=10).status_code == 200
    r = engine_call(hub.http(""), "POST", "/v2/process-instances", {"processDefinitionId": "publish-only", "variables": {"affinityKey": "metrics-1"}})
    assert r.status_code == 200, r.text
    assert requests.get(hub.http("/v1/outcomes/metrics-1?timeout=10"), timeout=15).status_code == 200
    deadline = time.time() + 10
    while 'call="POST /v2/jobs/{key}/completion"' not in scrape(hub):
        assert time.time() < deadline, scrape(hub)
        time.sleep(0.1)
    text = scrape(hub)
    assert "# TYPE affinity_publish_to_deliver_seconds histogram" in text
    assert 'affinity_publish_to_deliver_seconds_bucket{le="0.005"}' in text
    assert "affinity_store_append_seconds_count 1" in text or "affinity_store_append_seconds_count" in text
    assert 'affinity_engine_call_seconds_count{call="POST /v2/jobs/activation"}' in text
    assert "/v2/jobs/2251" not in text, "keys never become label values"
    # Every line is a comment or `name{labels} value`.
    for line in text.splitlines():
        assert not line or line.startswith("#") or len(line.rsplit(" ", 1)) == 2, line
