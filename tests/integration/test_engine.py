"""The hub with a workflow engine, end to end over loopback: the demo's REST server answering with
workflow outcomes (through the embedded dev engine and the hub's outcome worker), an execution
listener as the outcome source, a worker crash between storing and completing, and the demo page
in headless Chromium."""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

from conftest import ROOT, Hub, chromium, hub_binary

FIXTURES = os.path.join(ROOT, "tests", "integration", "fixtures")


class Process:
    """A helper process (the demo, a standalone dev engine) started on port 0; its URL is read from stdout."""

    def __init__(self, cmd, pattern, env=None):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, **(env or {})})
        deadline = time.time() + 30
        self.url = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(pattern, line)
            if m:
                self.url = m.group(1)
                break
        if not self.url:
            self.proc.kill()
            raise RuntimeError(f"{cmd[0]} did not start: {self.proc.stderr.read()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def demo_binary():
    return os.path.join(os.path.dirname(hub_binary()), "affinity-demo")


@pytest.fixture(scope="module")
def stack():
    """hub (+ dev engine + outcome worker) and the demo (REST server + service workers)."""
    hub = Hub(["--dev-engine", "--loops", "2"])
    demo = Process([demo_binary(), "--hub", f"http://127.0.0.1:{hub.port}", "--port", "0", "--wait-ms", "5000"],
                   r"open (http://127\.0\.0\.1:\d+)/")
    yield hub, demo
    demo.stop()
    assert hub.stop() == 0


def purchase(demo, body, wait=None):
    url = demo.url + "/purchase" + (f"?wait={wait}" if wait is not None else "")
    return requests.post(url, json=body, timeout=60)


def test_a_purchase_answers_with_the_workflows_outcome(stack):
    hub, demo = stack
    r = purchase(demo, {"item": "book", "quantity": 2, "simulate": {"reliable": True}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed"
    data = body["outcome"]["data"]
    assert data["orderId"] == body["orderId"] and data["item"] == "book" and data["quantity"] == 2
    assert data["trackingNumber"].startswith("TRK") and data["total"] == 50
    # The hub holds the same outcome for any other subscriber of the key.
    replay = requests.get(hub.http(f"/v1/outcomes/{body['key']}?timeout=1")).json()
    assert replay["seq"] == 1 and replay["data"] == data


def test_a_declined_payment_answers_with_the_failed_outcome(stack):
    _, demo = stack
    r = purchase(demo, {"item": "book", "quantity": 1, "simulate": {"decline": True, "reliable": True}})
    assert r.status_code == 422, r.text
    assert r.json()["status"] == "failed"
    assert r.json()["outcome"]["data"]["errorCode"] == "PAYMENT_DECLINED"
    r = purchase(demo, {"item": "unobtainium", "quantity": 1, "simulate": {"reliable": True}})
    assert r.status_code == 422 and "out of stock" in r.json()["outcome"]["data"]["reason"]


def test_a_slow_workflow_answers_202_and_the_handle_gives_the_outcome_later(stack):
    hub, demo = stack
    r = purchase(demo, {"item": "piano", "quantity": 1, "simulate": {"delayMs": 2500, "reliable": True}}, wait=300)
    assert r.status_code == 202, r.text
    location = r.headers["Location"]
    assert location == r.json()["location"] and r.json()["status"] == "pending"
    assert requests.get(demo.url + location).status_code == 202
    later = requests.get(demo.url + location + "?wait=15000", timeout=30)
    assert later.status_code == 200, later.text
    assert later.json()["outcome"]["data"]["item"] == "piano"


def test_many_concurrent_purchases_each_get_their_own_outcome(stack):
    _, demo = stack
    items = [(f"item-{i}", 1 + i % 7) for i in range(40)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(lambda it: purchase(demo, {"item": it[0], "quantity": it[1]}, wait=30000), items))
    for (item, quantity), r in zip(items, results):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"]["data"]["item"] == item and body["outcome"]["data"]["quantity"] == quantity
        assert body["outcome"]["data"]["orderId"] == body["orderId"]
    assert len({r.json()["key"] for r in results}) == len(items)


def test_bad_purchases_are_refused_with_json(stack):
    _, demo = stack
    for body in [{"item": "", "quantity": 1}, {"item": "x", "quantity": 0}, {"item": "x", "quantity": "2"}, {"quantity": 1}]:
        r = purchase(demo, body)
        assert r.status_code == 400 and "message" in r.json()
    r = requests.post(demo.url + "/purchase", data=b"{not json", timeout=10)
    assert r.status_code == 400
    assert requests.get(demo.url + "/purchase/../../etc").status_code == 404
    unknown = requests.get(demo.url + "/purchase/order-neverplaced?wait=0", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found", "an unknown order is not pending forever"


@pytest.mark.parametrize("wait", ["-5", "abc", "1.5", "60001", ""])
def test_the_demo_refuses_an_invalid_wait_with_400_naming_it(stack, wait):
    _, demo = stack
    r = purchase(demo, {"item": "book", "quantity": 1}, wait=wait)
    assert r.status_code == 400 and "wait" in r.json()["message"], (wait, r.status_code, r.text)
    r = requests.get(demo.url + f"/purchase/order-x?wait={wait}", timeout=10)
    assert r.status_code == 400 and "wait" in r.json()["message"]


def engine_call(base, method, path, body=None):
    r = requests.request(method, base + path, json=body, timeout=30)
    return r


def deploy(base, name):
    with open(os.path.join(FIXTURES, name) if not name.startswith("/") else name, "rb") as f:
        r = requests.post(base + "/v2/deployments", files={"resources": (os.path.basename(name), f.read())}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def activate(base, job_type, request_timeout=5000):
    r = engine_call(base, "POST", "/v2/jobs/activation",
                    {"type": job_type, "worker": "pytest", "timeout": 30000, "maxJobsToActivate": 1, "requestTimeout": request_timeout})
    assert r.status_code == 200, r.text
    return r.json()["jobs"]


def test_an_end_execution_listener_publishes_the_outcome_without_a_task(make_hub):
    hub = make_hub("--dev-engine")
    base = hub.http("")
    deploy(base, "listener-outcome.bpmn")
    created = engine_call(base, "POST", "/v2/process-instances",
                          {"processDefinitionId": "listener-outcome", "variables": {"requestId": "r-1", "amount": 10}}).json()
    pi = created["processInstanceKey"]
    [work] = activate(base, "listener-work")
    assert engine_call(base, "POST", f"/v2/jobs/{work['jobKey']}/completion", {"variables": {"worked": True}}).status_code == 204
    published = engine_call(base, "POST", "/v2/messages/publication",
                            {"name": "approval", "correlationKey": "r-1", "timeToLive": 0, "variables": {"approved": True}})
    assert published.status_code == 200, published.text
    # No affinityKey variable: the outcome key is the process instance key.
    outcome = requests.get(hub.http(f"/v1/outcomes/{pi}?timeout=10"), timeout=15).json()
    assert outcome["status"] == "completed"
    assert outcome["data"]["approved"] is True and outcome["data"]["worked"] is True
    assert engine_call(base, "GET", f"/v2/process-instances/{pi}").json()["state"] == "COMPLETED"


def test_a_job_with_a_bad_affinity_key_becomes_an_incident(make_hub):
    hub = make_hub("--dev-engine")
    base = hub.http("")
    deploy(base, "listener-outcome.bpmn")
    pi = engine_call(base, "POST", "/v2/process-instances",
                     {"processDefinitionId": "listener-outcome", "variables": {"requestId": "r-2", "affinityKey": "not a key!"}}).json()["processInstanceKey"]
    [work] = activate(base, "listener-work")
    engine_call(base, "POST", f"/v2/jobs/{work['jobKey']}/completion", {})
    engine_call(base, "POST", "/v2/messages/publication", {"name": "approval", "correlationKey": "r-2", "variables": {"approved": True}})
    deadline = time.time() + 10
    incidents = []
    while time.time() < deadline and not incidents:
        incidents = engine_call(base, "POST", "/v2/incidents/search", {"filter": {"processInstanceKey": pi}}).json()["items"]
        time.sleep(0.1)
    assert incidents and incidents[0]["errorType"] == "JOB_NO_RETRIES"
    assert "not a valid outcome key" in incidents[0]["errorMessage"]


def test_the_dev_engine_refuses_models_outside_its_subset(make_hub):
    hub = make_hub("--dev-engine")
    bpmn = (b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
            b'<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:inclusiveGateway id="Fork"/>'
            b'<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Fork"/></bpmn:process></bpmn:definitions>')
    r = requests.post(hub.http("/v2/deployments"), files={"resources": ("p.bpmn", bpmn)}, timeout=10)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["title"] == "INVALID_ARGUMENT" and "inclusiveGateway 'Fork'" in r.json()["detail"]
    r = requests.post(hub.http("/v2/process-instances"), json={"processDefinitionId": "missing"}, timeout=10)
    assert r.status_code == 404 and r.json()["title"] == "NOT_FOUND"


def test_a_worker_killed_between_storing_and_completing_loses_nothing_and_delivers_once(make_hub, tmp_path):
    engine = Process([hub_binary(), "dev-engine", "--port", "0"], r"listening (http://127\.0\.0\.1:\d+)")
    try:
        deploy(engine.url, os.path.join(FIXTURES, "ship-then-publish.bpmn"))
        store = str(tmp_path / "outcomes.log")
        common = ["--camunda-url", engine.url, "--store", "log", "--store-path", store, "--worker-job-timeout", "2"]
        # Hub A stores and delivers the outcome, then holds the job (test hook) and is killed before completing it.
        hub_a = make_hub(*common, env={"AFFINITY_TEST_HOLD_COMPLETION_MS": "60000"})
        key = "order-crash-" + uuid.uuid4().hex[:8]
        pi = engine_call(engine.url, "POST", "/v2/process-instances",
                         {"processDefinitionId": "ship-then-publish", "variables": {"affinityKey": key, "orderId": "c1"}}).json()["processInstanceKey"]
        [job] = activate(engine.url, "shipping")
        assert engine_call(engine.url, "POST", f"/v2/jobs/{job['jobKey']}/completion", {"variables": {"trackingNumber": "T-crash"}}).status_code == 204
        first = requests.get(hub_a.http(f"/v1/outcomes/{key}?timeout=10"), timeout=15).json()
        assert first["seq"] == 1 and first["data"]["trackingNumber"] == "T-crash"
        assert engine_call(engine.url, "GET", f"/v2/process-instances/{pi}").json()["state"] == "ACTIVE"
        hub_a.proc.send_signal(signal.SIGKILL)
        hub_a.proc.wait()
        hub_a.stop = lambda *a, **k: 0  # already gone; the fixture must not expect a clean exit

        # Hub B, same store: the engine re-offers the job after its timeout; the job key makes the publish a repeat.
        hub_b = make_hub(*common)
        deadline = time.time() + 20
        state = None
        while time.time() < deadline:
            state = engine_call(engine.url, "GET", f"/v2/process-instances/{pi}").json()["state"]
            if state == "COMPLETED":
                break
            time.sleep(0.2)
        assert state == "COMPLETED"
        metrics = requests.get(hub_b.http("/metrics")).text
        assert 'affinity_worker_jobs_total{result="duplicate"} 1' in metrics
        assert 'affinity_worker_jobs_total{result="completed"} 1' in metrics
        # Exactly one outcome for the key: nothing after seq 1.
        assert requests.get(hub_b.http(f"/v1/outcomes/{key}?timeout=10"), timeout=15).json()["id"] == first["id"]
        assert requests.get(hub_b.http(f"/v1/outcomes/{key}?after=1&timeout=1"), timeout=5).status_code == 204
    finally:
        engine.stop()


def test_the_demo_page_shows_an_order_outcome_in_a_real_browser(stack):
    hub, demo = stack
    driver = chromium()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait, Select

    try:
        driver.get(demo.url + "/")
        driver.find_element(By.ID, "item").clear()
        driver.find_element(By.ID, "item").send_keys("telescope")
        driver.find_element(By.ID, "place").click()
        Select(driver.find_element(By.ID, "scenario")).select_by_value("decline")
        driver.find_element(By.ID, "place").click()
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#orders tr[data-status]")) == 2)
        rows = driver.find_elements(By.CSS_SELECTOR, "#orders tr")
        statuses = sorted(r.get_attribute("data-status") for r in rows)
        assert statuses == ["completed", "failed"], [r.text for r in rows]
        shipped = [r for r in rows if r.get_attribute("data-status") == "completed"][0]
        assert "shipped" in shipped.text and "telescope" in shipped.text and "TRK" in shipped.text
        # The page awaited the outcome through the hub's browser client, not by polling the demo.
        assert requests.get(hub.http("/v1/client.js")).headers["Content-Type"].startswith("text/javascript")

        # The same client forced onto Server-Sent Events, across origins (page on the demo, hub elsewhere):
        # a progress outcome then the terminal one, each seen once and in order.
        key = "sse-" + uuid.uuid4().hex[:8]
        threading.Timer(1.0, lambda: [requests.post(hub.http(f"/v1/outcomes/{key}"), json={"status": s, "data": {"n": i}})
                                      for i, s in enumerate(["progress", "completed"])]).start()
        seen = driver.execute_async_script("""
            const [hub, key, done] = arguments;
            const seen = [];
            import(hub + "/v1/client.js")
              .then(m => m.awaitOutcome(key, { transport: "sse", timeoutMs: 15000, onOutcome: o => seen.push([o.seq, o.status]) }))
              .then(o => done({ final: o.data, seen }), e => done({ error: String(e) }));
        """, hub.http(""), key)
        assert seen == {"final": {"n": 1}, "seen": [[1, "progress"], [2, "completed"]]}, seen
    finally:
        driver.quit()


def test_an_outcome_the_hub_cannot_store_fails_the_job_with_back_off_until_an_incident(make_hub):
    # One outcome per key: the worker's publish for a key that already has one is refused (429).
    hub = make_hub("--dev-engine", "--max-outcomes-per-key", "1")
    base = hub.http("")
    key = "full-" + uuid.uuid4().hex[:8]
    assert requests.post(hub.http(f"/v1/outcomes/{key}"), json={"status": "progress"}).status_code == 201
    deploy(base, "publish-retry.bpmn")
    pi = engine_call(base, "POST", "/v2/process-instances",
                     {"processDefinitionId": "publish-retry", "variables": {"affinityKey": key}}).json()["processInstanceKey"]
    deadline = time.time() + 15
    incidents = []
    while time.time() < deadline and not incidents:
        incidents = engine_call(base, "POST", "/v2/incidents/search", {"filter": {"processInstanceKey": pi}}).json()["items"]
        time.sleep(0.2)
    assert incidents, "the job was never given up"
    assert "could not store the outcome" in incidents[0]["errorMessage"]
    metrics = requests.get(hub.http("/metrics")).text
    assert 'affinity_worker_jobs_total{result="failed"} 2' in metrics  # two attempts, the retry after a back-off
    assert 'affinity_worker_jobs_total{result="completed"} 0' in metrics
    assert engine_call(base, "GET", f"/v2/process-instances/{pi}").json()["state"] == "ACTIVE"


def test_dev_engine_searches_filter_sort_and_page_as_the_api_does(make_hub):
    hub = make_hub("--dev-engine", "--worker-job-type", "nobody-takes-this")
    base = hub.http("")
    deploy(base, "ship-then-publish.bpmn")
    keys = [engine_call(base, "POST", "/v2/process-instances", {"processDefinitionId": "ship-then-publish", "variables": {"orderId": f"s{i}"}})
            .json()["processInstanceKey"] for i in range(5)]
    search = lambda path, body: engine_call(base, "POST", path, body).json()
    everything = search("/v2/jobs/search", {"filter": {"type": "shipping"}, "sort": [{"field": "processInstanceKey", "order": "DESC"}]})
    assert everything["page"]["totalItems"] == 5 and [j["processInstanceKey"] for j in everything["items"]] == keys[::-1]
    assert all(j["state"] == "CREATED" and j["worker"] == "" for j in everything["items"])
    first = search("/v2/process-instances/search", {"filter": {"processInstanceKey": {"$in": keys[:4]}}, "sort": [{"field": "processInstanceKey"}], "page": {"limit": 2}})
    assert [i["processInstanceKey"] for i in first["items"]] == keys[:2] and first["page"]["totalItems"] == 4
    second = search("/v2/process-instances/search", {"filter": {"processInstanceKey": {"$in": keys[:4]}}, "sort": [{"field": "processInstanceKey"}],
                                                      "page": {"limit": 2, "after": first["page"]["endCursor"]}})
    assert [i["processInstanceKey"] for i in second["items"]] == keys[2:4]
    back = search("/v2/process-instances/search", {"filter": {"processInstanceKey": {"$in": keys[:4]}}, "sort": [{"field": "processInstanceKey"}],
                                                    "page": {"limit": 2, "before": second["page"]["startCursor"]}})
    assert [i["processInstanceKey"] for i in back["items"]] == keys[:2]
    assert search("/v2/jobs/search", {"filter": {"type": {"$like": "ship*"}, "processInstanceKey": {"$neq": keys[0]}}})["page"]["totalItems"] == 4
    assert search("/v2/jobs/search", {"filter": {"deadline": {"$exists": True}}})["page"]["totalItems"] == 0
    assert engine_call(base, "GET", "/v2/status").status_code == 204


def test_the_dev_engine_answers_bad_requests_with_problem_details(make_hub):
    hub = make_hub("--dev-engine", "--max-body-bytes", "65536")
    base = hub.http("")
    cases = [
        ("POST", "/v2/process-instances", b"{not json", 400),
        ("POST", "/v2/process-instances", b"[1,2]", 400),
        ("POST", "/v2/process-instances", b'{"variables":{}}', 400),                       # neither id nor key
        ("POST", "/v2/process-instances", b'{"processDefinitionKey":"abc"}', 400),
        ("POST", "/v2/jobs/activation", b'{"type":"x","maxJobsToActivate":1}', 400),       # no timeout
        ("POST", "/v2/jobs/activation", b'{"type":"","timeout":1000,"maxJobsToActivate":1}', 400),
        ("POST", "/v2/jobs/activation", b'{"type":"x","timeout":1000,"maxJobsToActivate":0}', 400),
        ("POST", "/v2/jobs/not-a-key/completion", b"{}", 400),
        ("POST", "/v2/jobs/123/error", b"{}", 400),                                         # no errorCode
        ("POST", "/v2/messages/publication", b'{"correlationKey":"k"}', 400),               # no name
        ("POST", "/v2/deployments", b"plain body", 400),                                    # not multipart
        ("PUT", "/v2/clock", b'{"timestamp":"soon"}', 400),
        ("PUT", "/v2/clock", b'{"timestamp":-1}', 400),
        ("POST", "/v2/signals/broadcast", b'{"variables":{}}', 400),                        # no signalName
        ("POST", "/v2/user-tasks/1/assignment", b'{}', 400),                                # no assignee
        ("POST", "/v2/user-tasks/abc/completion", b'{}', 400),
        ("POST", "/v2/user-tasks/1/completion", b'{"variables":[1]}', 400),
        ("POST", "/v2/user-tasks/1/completion", b'{}', 404),
        ("PUT", "/v2/element-instances/1/variables", b'{"variables":"x"}', 400),
        ("PUT", "/v2/element-instances/1/variables", b'{"variables":{}}', 404),
        ("POST", "/v2/user-tasks/search", b'{"filter":{"nope":1}}', 400),
        ("POST", "/v2/variables/search", b'{"page":{"limit":0}}', 400),
        ("POST", "/v2/element-instances/search", b'{"sort":[{"field":"elementId","order":"UP"}]}', 400),
        ("GET", "/v2/process-definitions/1/xml", b"", 404),
        ("GET", "/v2/variables/1", b"", 404),
        ("GET", "/v2/incidents/42", b"", 404),
        ("GET", "/v2/process-instances/42", b"", 404),
    ]
    for method, path, body, status in cases:
        r = requests.request(method, base + path, data=body, headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code == status, (path, body, r.status_code, r.text)
        assert r.headers["Content-Type"] == "application/problem+json", (path, r.headers)
        problem = r.json()
        assert problem["status"] == status and problem["title"] and problem["detail"], problem
    # An endpoint of the API the dev engine does not serve: a problem detail that says so.
    for method, path in [("POST", "/v2/decision-definitions/search"), ("POST", "/v2/process-instances/1/migration"), ("DELETE", "/v2/resources/x/y/z")]:
        r = requests.request(method, base + path, json={}, timeout=10)
        assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json", (path, r.text)
        assert r.json()["title"] == "NOT_FOUND" and "not served by the dev engine" in r.json()["detail"] and path in r.json()["detail"]
    assert requests.get(base + "/nope", timeout=10).json()["error"] == "not_found", "outside /v2 the hub's own errors"
    # Searches refuse what they do not know, rather than ignoring it.
    for path, body in [("/v2/jobs/search", {"filter": {"nope": 1}}), ("/v2/process-instances/search", {"sort": [{"field": "nope"}]}),
                       ("/v2/incidents/search", {"filter": {"state": {"$regex": "x"}}}), ("/v2/jobs/search", {"page": {"limit": 0}}),
                       ("/v2/jobs/search", {"page": {"after": "forged"}}), ("/v2/jobs/search", {"extra": True}),
                       ("/v2/jobs/search", {"filter": {"type": {"$like": "*" * 5000}}}), ("/v2/jobs/search", {"filter": {"type": {"$like": 5}}})]:
        r = requests.post(base + path, json=body, timeout=10)
        assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json", (path, body, r.text)
    # A deployment that is not even XML, and one above the body limit.
    r = requests.post(base + "/v2/deployments", files={"resources": ("x.bpmn", b"\x00\xff garbage")}, timeout=10)
    assert r.status_code == 400 and "x.bpmn" in r.json()["detail"]
    r = requests.post(base + "/v2/deployments", files={"resources": ("big.bpmn", b"<a>" + b"x" * 70000 + b"</a>")}, timeout=10)
    assert r.status_code == 413
    # A JSON nest beyond the parser's depth bound is refused, not recursed into.
    r = requests.post(base + "/v2/process-instances", data=b'{"variables":' + b"[" * 100 + b"]" * 100 + b"}", timeout=10)
    assert r.status_code == 400
    assert hub.alive()


def test_the_endpoint_table_in_the_docs_says_what_the_dev_engine_serves(make_hub):
    """Every row of docs/dev-engine.md's table of the REST API v2, checked against the engine: a
    row marked served is answered by a route of its own, every other one by the problem detail
    that names it as not served."""
    doc = open(os.path.join(ROOT, "docs", "dev-engine.md"), encoding="utf-8").read()
    table = doc.split("## Every endpoint of the REST API v2, served or not", 1)[1]
    claims = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2] in ("served", "—"):
            claims.append((cells[1].strip("`"), cells[2] == "served"))
        elif len(cells) == 2 and cells[1].startswith("`"):
            claims += [(e, False) for e in re.findall(r"`([A-Z]+ /[^`]+)`", cells[1])]
    assert len(claims) >= 240, f"the table lists {len(claims)} endpoints"
    hub = make_hub("--dev-engine")
    served = 0
    for endpoint, is_served in claims:
        method, path = endpoint.split(" ", 1)
        r = requests.request(method, hub.http(re.sub(r"\{[^}]+\}", "1", path)), json={}, timeout=10)
        unserved = r.status_code == 404 and (("not served by the dev engine" in r.text) or not path.startswith("/v2/"))
        assert unserved != is_served, (endpoint, "served" if is_served else "not served", r.status_code, r.text[:200])
        served += is_served
    assert served >= 40


def test_a_model_that_loops_without_waiting_is_an_incident_and_the_hub_lives(make_hub):
    """A loop of tasks with no wait state would recurse without end in one request: the engine
    stops the token with an incident after 200 elements in a row, on the server's own threads."""
    hub = make_hub("--dev-engine")
    chain = "".join(f'<bpmn:task id="t{n}"/><bpmn:sequenceFlow id="f{n}" sourceRef="{"s" if n == 0 else f"t{n - 1}"}" targetRef="t{n}"/>' for n in range(190))
    loop = ('<bpmn:task id="A"/><bpmn:task id="B"/><bpmn:sequenceFlow id="l0" sourceRef="s" targetRef="A"/>'
            '<bpmn:sequenceFlow id="l1" sourceRef="A" targetRef="B"/><bpmn:sequenceFlow id="l2" sourceRef="B" targetRef="A"/>')
    for pid, body in [("long-chain", chain + '<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="fe" sourceRef="t189" targetRef="e"/>'), ("loop", loop)]:
        bpmn = (f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="{pid}" isExecutable="true">'
                f'<bpmn:startEvent id="s"/>{body}</bpmn:process></bpmn:definitions>').encode()
        assert requests.post(hub.http("/v2/deployments"), files={"resources": (f"{pid}.bpmn", bpmn)}, timeout=10).status_code == 200
    chained = engine_call(hub.http(""), "POST", "/v2/process-instances", {"processDefinitionId": "long-chain", "awaitCompletion": True}).json()
    assert engine_call(hub.http(""), "GET", f"/v2/process-instances/{chained['processInstanceKey']}").json()["state"] == "COMPLETED"
    looping = engine_call(hub.http(""), "POST", "/v2/process-instances", {"processDefinitionId": "loop"}).json()["processInstanceKey"]
    incidents = engine_call(hub.http(""), "POST", "/v2/incidents/search", {"filter": {"processInstanceKey": looping}}).json()["items"]
    assert len(incidents) == 1 and incidents[0]["errorType"] == "UNKNOWN" and "without a wait state" in incidents[0]["errorMessage"]
    assert engine_call(hub.http(""), "GET", "/v2/status").status_code == 204
