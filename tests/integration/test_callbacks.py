"""The HTTP custom-activity contract end to end: a BPMN service task of type http-callback, the
hub's worker POSTing to an external service (a real HTTP server in this process), the service
answering later on responsePath / errorResponsePath, through the dev engine and the outcome
worker. Capability URLs, idempotent repeats, conflicts, cancelled instances, endpoint failures
becoming incidents, and a hub restart between issuing and answering."""
import http.server
import json
import os
import signal
import threading
import time
import uuid

import pytest
import requests

from conftest import ROOT, hub_binary
from test_engine import FIXTURES, Process, deploy, engine_call


class Service:
    """The external service: records every POST; answers with `status` (200 by default)."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.body = b'{"accepted":true}'
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(self.rfile.read(length))})
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout=15):
        deadline = time.time() + timeout
        while len(self.requests) < count:
            assert time.time() < deadline, f"the service got {len(self.requests)} of {count} requests"
            time.sleep(0.05)
        return self.requests[count - 1]

    def close(self):
        self.server.shutdown()


@pytest.fixture
def service():
    s = Service()
    yield s
    s.close()


@pytest.fixture
def stack(make_hub, service):
    hub = make_hub("--dev-engine", "--callback-base-url", service.url)
    deploy(hub.http(""), os.path.join(FIXTURES, "http-callback.bpmn"))
    return hub


def start(hub, **variables):
    key = "ship-" + uuid.uuid4().hex[:10]
    body = {"processDefinitionId": "http-callback-flow", "variables": {"affinityKey": key, "orderId": key, **variables}}
    r = engine_call(hub.http(""), "POST", "/v2/process-instances", body)
    assert r.status_code == 200, r.text
    return key, r.json()["processInstanceKey"]


def outcome(hub, key, timeout=15):
    r = requests.get(hub.http(f"/v1/outcomes/{key}?timeout={timeout}"), timeout=timeout + 5)
    assert r.status_code == 200, f"no outcome for {key}"
    return r.json()


def incidents(base, instance):
    r = engine_call(base, "POST", "/v2/incidents/search", {"filter": {"processInstanceKey": instance}})
    return r.json()["items"]


def test_the_service_gets_exactly_the_contract_and_its_answer_completes_the_job(stack, service):
    key, _ = start(stack, item="book", secretNote="not for the label service")
    call = service.wait_for(1)
    assert call["path"] == "/label"
    body = call["body"]
    assert set(body) == {"responsePath", "errorResponsePath", "flowElementInstanceId", "data"}
    assert body["data"] == {"orderId": key, "item": "book"}, "only callbackVariables are sent"
    assert isinstance(body["flowElementInstanceId"], str) and body["flowElementInstanceId"].isdigit()
    for url in (body["responsePath"], body["errorResponsePath"]):
        token = url.rsplit("/", 1)[1]
        assert url.startswith(stack.http("/v1/callbacks/")) and len(token) >= 22, "a 128-bit-plus capability"

    answer = {"data": {"trackingNumber": "TN-1", "carrier": "ups"}}
    r = requests.post(body["responsePath"], json=answer, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Referrer-Policy"] == "no-referrer"
    assert outcome(stack, key)["data"] == {"orderId": key, "trackingNumber": "TN-1", "carrier": "ups"}

    # A lost response is safe to retry: the same call gets the same answer, nothing happens twice.
    again = requests.post(body["responsePath"], json=answer, timeout=10)
    assert again.status_code == 200 and again.json() == r.json()
    # A different answer, or the other URL, after one was used: 409 with what was recorded.
    other = requests.post(body["responsePath"], json={"data": {"trackingNumber": "TN-2"}}, timeout=10)
    assert other.status_code == 409 and other.json()["recorded"]["body"] == answer
    error = requests.post(body["errorResponsePath"], json={"errorMessage": "too late"}, timeout=10)
    assert error.status_code == 409 and error.json()["recorded"]["kind"] == "response"


def test_variables_outside_the_allow_list_are_refused_naming_them(stack, service):
    key, _ = start(stack, item="lamp")
    body = service.wait_for(1)["body"]
    r = requests.post(body["responsePath"], json={"data": {"trackingNumber": "T", "price": 0, "admin": True}}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "variable_not_allowed"
    assert "admin" in r.json()["message"] and "price" in r.json()["message"]
    for bad in [b"[1]", b"{not json", b'{"data": 5}', b'{"data": {}, "extra": 1}']:
        assert requests.post(body["responsePath"], data=bad, timeout=10).status_code == 400
    # Nothing was recorded by the refusals: a valid answer still completes the job.
    assert requests.post(body["responsePath"], json={"data": {"trackingNumber": "T-ok"}}, timeout=10).status_code == 200
    assert outcome(stack, key)["data"]["trackingNumber"] == "T-ok"


def test_an_error_code_throws_a_bpmn_error_the_boundary_event_catches(stack, service):
    key, _ = start(stack, item="piano")
    body = service.wait_for(1)["body"]
    r = requests.post(body["errorResponsePath"], json={"errorCode": "LABEL_REFUSED", "errorMessage": "too heavy"}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "error_thrown"
    refused = outcome(stack, key)
    assert refused["status"] == "failed" and refused["data"] == {"orderId": key}


def test_an_error_without_a_code_fails_the_job_into_an_incident_carrying_the_message(stack, service):
    _, instance = start(stack, item="vase")
    body = service.wait_for(1)["body"]
    r = requests.post(body["errorResponsePath"], json={"errorMessage": "address does not exist"}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "failed"
    [incident] = incidents(stack.http(""), instance)
    assert incident["errorMessage"] == "address does not exist"


def test_an_endpoint_that_keeps_failing_ends_in_an_incident_saying_why(stack, service):
    service.status, service.body = 503, b"label printer on fire"
    _, instance = start(stack, item="chair")
    service.wait_for(2, timeout=20)              # retries="2": a first try and one retry after back-off
    deadline = time.time() + 15
    while not incidents(stack.http(""), instance):
        assert time.time() < deadline, "no incident"
        time.sleep(0.2)
    [incident] = incidents(stack.http(""), instance)
    assert "503" in incident["errorMessage"] and "label printer on fire" in incident["errorMessage"]
    assert "/label" in incident["errorMessage"]


def test_a_callback_for_a_cancelled_instance_is_gone(stack, service):
    _, instance = start(stack, item="desk")
    body = service.wait_for(1)["body"]
    assert engine_call(stack.http(""), "POST", f"/v2/process-instances/{instance}/cancellation", {}).status_code == 204
    r = requests.post(body["responsePath"], json={"data": {"trackingNumber": "T"}}, timeout=10)
    assert r.status_code == 410 and r.json()["error"] == "gone"
    again = requests.post(body["responsePath"], json={"data": {"trackingNumber": "T"}}, timeout=10)
    assert again.status_code == 410


def test_forged_and_crossed_capabilities_are_not_found(stack, service):
    start(stack, item="rug")
    body = service.wait_for(1)["body"]
    response_url, error_url = body["responsePath"], body["errorResponsePath"]
    base, token = response_url.rsplit("/", 1)
    forged = base + "/" + ("A" if token[0] != "A" else "B") + token[1:]
    assert requests.post(forged, json={}, timeout=10).status_code == 404
    # The response token does not open the error URL (the kind is part of the MAC).
    crossed = error_url.rsplit("/", 1)[0] + "/" + token
    assert requests.post(crossed, json={"errorMessage": "x"}, timeout=10).status_code == 404
    job = response_url.split("/v1/callbacks/")[1].split("/")[0]
    assert requests.post(stack.http(f"/v1/callbacks/{int(job) + 1}/response/{token}"), json={}, timeout=10).status_code == 404
    assert requests.post(stack.http(f"/v1/callbacks/{job}/approve/{token}"), json={}, timeout=10).status_code == 404
    assert requests.get(response_url, timeout=10).status_code == 405


def test_callback_urls_are_rate_limited_per_address(make_hub, service):
    hub = make_hub("--dev-engine", "--callback-base-url", service.url, "--callback-rate-limit", "2")
    codes = [requests.post(hub.http("/v1/callbacks/1/response/" + "x" * 43), json={}, timeout=5).status_code for _ in range(12)]
    assert codes.count(404) >= 4 and codes.count(429) >= 4, codes
    assert requests.post(hub.http("/v1/callbacks/1/response/" + "x" * 43), json={}, timeout=5).headers.get("Retry-After") == "1"


def test_callback_urls_issued_before_a_restart_still_work_after_it(make_hub, service, tmp_path):
    engine = Process([hub_binary(), "dev-engine", "--port", "0"], r"listening (http://127\.0\.0\.1:\d+)")
    try:
        deploy(engine.url, os.path.join(FIXTURES, "http-callback.bpmn"))
        store = str(tmp_path / "outcomes.log")
        # A publish-outcome job the killed hub held comes back to hub B after 2 s, not 30.
        common = ["--camunda-url", engine.url, "--store", "log", "--store-path", store, "--callback-base-url", service.url,
                  "--worker-job-timeout", "2"]
        hub_a = make_hub(*common)
        keys = []
        for item in ["first", "second"]:
            key = "restart-" + uuid.uuid4().hex[:8]
            r = engine_call(engine.url, "POST", "/v2/process-instances",
                            {"processDefinitionId": "http-callback-flow", "variables": {"affinityKey": key, "orderId": key, "item": item}})
            keys.append((key, r.json()["processInstanceKey"]))
        first, second = service.wait_for(1)["body"], service.wait_for(2)["body"]
        answer = {"data": {"trackingNumber": "T-before"}}
        assert requests.post(first["responsePath"], json=answer, timeout=10).status_code == 200
        hub_a.proc.send_signal(signal.SIGKILL)
        hub_a.proc.wait()
        hub_a.stop = lambda *a, **k: 0

        # The restarted hub (the URLs are on its old port: call the same paths on the new one).
        hub_b = make_hub(*common)
        moved = lambda url: hub_b.http(url.split(f":{hub_a.port}", 1)[1])
        r = requests.post(moved(second["responsePath"]), json={"data": {"trackingNumber": "T-after"}}, timeout=10)
        assert r.status_code == 200, r.text
        repeat = requests.post(moved(first["responsePath"]), json=answer, timeout=10)
        assert repeat.status_code == 200 and repeat.json()["status"] == "completed", "the answer recorded before the restart stands"
        conflict = requests.post(moved(first["errorResponsePath"]), json={"errorMessage": "no"}, timeout=10)
        assert conflict.status_code == 409
        for key, instance in keys:
            deadline = time.time() + 15
            while engine_call(engine.url, "GET", f"/v2/process-instances/{instance}").json()["state"] != "COMPLETED":
                assert time.time() < deadline, f"{key} never completed"
                time.sleep(0.2)
    finally:
        engine.stop()


def test_racing_callbacks_apply_exactly_one_answer(stack, service):
    import concurrent.futures
    for round_ in range(3):
        key, _ = start(stack, item=f"race-{round_}")
        body = service.wait_for(round_ + 1)["body"]
        calls = [(body["responsePath"], {"data": {"trackingNumber": "SAME"}})] * 6 \
            + [(body["responsePath"], {"data": {"trackingNumber": f"OTHER-{i}"}}) for i in range(3)] \
            + [(body["errorResponsePath"], {"errorCode": "LABEL_REFUSED"})] * 3
        with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
            replies = list(pool.map(lambda c: requests.post(c[0], json=c[1], timeout=15), calls))
        winners = {json.dumps(r.json()["recorded"]["body"], sort_keys=True) for r in replies if r.status_code == 200}
        assert len(winners) == 1, [r.text for r in replies]
        assert all(r.status_code in (200, 409) for r in replies), [r.status_code for r in replies]
        recorded = replies[[r.status_code for r in replies].index(200)].json()["recorded"]
        assert all(r.json()["recorded"] == recorded for r in replies), "every caller is told the same recorded answer"
        result = outcome(stack, key)
        assert requests.get(stack.http(f"/v1/outcomes/{key}?after={result['seq']}&timeout=1"), timeout=5).status_code == 204
