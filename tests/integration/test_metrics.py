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


def documented_metrics():
    """The metric names in docs/metrics.md's table."""
    names = set()
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        for line in f:
            if line.startswith("| `affinity_"):
                names.add(line.split("`")[1])
    return names


def families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_every_metric_is_documented_and_every_documented_one_is_served(make_hub, tmp_path):
    hub = make_hub("--dev-engine", "--store", "log", "--store-path", str(tmp_path / "o.log"), "--webhook-allow-private")
    r = requests.post(hub.http("/v1/webhooks"), json={"url": "http://127.0.0.1:9/", "keys": ["m-*"]}, timeout=5)
    assert r.status_code == 201, r.text
    served, documented = families(scrape(hub)), documented_metrics()
    # The libraries' own series live in the applications that use them; the hub's engine client
    # records engine calls once the worker has polled.
    from_libraries = {"affinity_client_connects_total", "affinity_engine_call_seconds"}
    assert served - documented == set(), "served but missing from docs/metrics.md"
    # Series that appear with their first event: a close frame sent (test_hub checks it), a delivery.
    on_first_event = {"affinity_ws_close_codes_sent_total", "affinity_webhook_latency_seconds"}
    # The Redis store's series are served by nodes started with --redis (test_scale_out checks them).
    with_redis = {name for name in documented if name.startswith("affinity_redis_")}
    assert documented - served - from_libraries - on_first_event - with_redis == set(), "documented but not served"


def test_counters_follow_the_hub_between_scrapes_and_webhook_series_go_with_their_endpoint(make_hub):
    hub = make_hub("--webhook-allow-private")
    before = scrape(hub)
    assert "affinity_outcomes_published_total 0" in before
    for i in range(3):
        assert requests.post(hub.http(f"/v1/outcomes/m-{i}"), json={"status": "completed"}, timeout=5).status_code == 201
    after = scrape(hub)
    assert "affinity_outcomes_published_total 3" in after and "affinity_keys 3.0" in after
    r = requests.post(hub.http("/v1/webhooks"), json={"url": "http://127.0.0.1:9/", "keys": ["zz-*"]}, timeout=5).json()
    assert f'affinity_webhook_pending{{endpoint="{r["id"]}"}}' in scrape(hub)
    assert requests.delete(hub.http(f"/v1/webhooks/{r['id']}"), timeout=5).status_code in (200, 204)
    assert r["id"] not in scrape(hub), "an unregistered endpoint's series are gone"
