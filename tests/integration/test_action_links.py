"""One-time action links end to end: a process creates approve/deny links (create-action-links),
a person opens one (GET never acts) and confirms (POST publishes the message once, with
messageId = the group), siblings are revoked by the first use, repeats show what was recorded,
expiry and revocation answer 410, forged tokens 404, and everything survives a hub restart."""
import concurrent.futures
import os
import signal
import time
import uuid

import pytest
import requests

from conftest import hub_binary
from test_engine import FIXTURES, Process, activate, deploy, engine_call

JSON = {"Accept": "application/json"}


@pytest.fixture
def hub(make_hub):
    h = make_hub("--dev-engine")
    deploy(h.http(""), os.path.join(FIXTURES, "action-links.bpmn"))
    return h


def start_approval(base, amount=1200):
    order = "ord-" + uuid.uuid4().hex[:8]
    r = engine_call(base, "POST", "/v2/process-instances",
                    {"processDefinitionId": "approval-links", "variables": {"orderId": order, "affinityKey": order, "amount": amount}})
    assert r.status_code == 200, r.text
    # Play the email service: the job carries the links the previous task created.
    deadline = time.time() + 10
    while True:
        jobs = [j for j in activate(base, "send-approval-email", request_timeout=2000) if j["variables"]["orderId"] == order]
        if jobs:
            break
        assert time.time() < deadline, "no send-approval-email job"
    job = jobs[0]
    assert engine_call(base, "POST", f"/v2/jobs/{job['jobKey']}/completion", {"variables": {}}).status_code == 204
    return order, r.json()["processInstanceKey"], job["variables"]


def outcome(hub, key, timeout=10):
    r = requests.get(hub.http(f"/v1/outcomes/{key}?timeout={timeout}"), timeout=timeout + 5)
    return r.json() if r.status_code == 200 else None


def test_a_process_creates_links_get_never_acts_and_post_correlates_once(hub):
    order, instance, variables = start_approval(hub.http(""))
    links, group = variables["actionLinks"], variables["actionGroup"]
    assert set(links) == {"approve", "deny"} and group.startswith("job-")
    for url in links.values():
        assert url.startswith(hub.http(f"/v1/actions/{group}/")) and "decision" not in url and "approved" not in url

    # Mail scanners and chat previews fetch links: a GET shows the page and does nothing.
    for _ in range(3):
        page = requests.get(links["approve"], timeout=10)
        assert page.status_code == 200 and "<form method=\"post\">" in page.text and "Approve order " + order in page.text
    for header, value in [("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"), ("X-Robots-Tag", "noindex, nofollow")]:
        assert page.headers[header] == value
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert outcome(hub, order, timeout=1) is None
    assert engine_call(hub.http(""), "GET", f"/v2/process-instances/{instance}").json()["state"] == "ACTIVE"

    done = requests.post(links["approve"], data={"note": "ok <b>by</b> me"}, timeout=10)
    assert done.status_code == 200 and "Approve</strong> was recorded" in done.text
    result = outcome(hub, order)
    assert result["status"] == "completed" and result["data"] == {"orderId": order, "decision": "approved", "note": "ok <b>by</b> me"}

    again = requests.post(links["approve"], timeout=10)
    assert again.status_code == 200 and "Already recorded" in again.text
    sibling = requests.post(links["deny"], timeout=10)
    assert sibling.status_code == 409 and "Another choice was recorded" in sibling.text
    assert requests.get(links["deny"], headers=JSON, timeout=10).json()["recordedAction"] == "approve"
    # One message, one outcome.
    assert requests.get(hub.http(f"/v1/outcomes/{order}?after=1&timeout=1"), timeout=5).status_code == 204


def test_racing_clicks_on_both_links_record_exactly_one_choice(hub):
    for _ in range(3):
        order, instance, variables = start_approval(hub.http(""))
        links = variables["actionLinks"]
        urls = [links["approve"], links["deny"]] * 6
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(lambda u: requests.post(u, headers=JSON, timeout=15), urls))
        statuses = [r.status_code for r in replies]
        assert set(statuses) <= {200, 409}, statuses
        chosen = {r.json()["recordedAction"] for r in replies}
        assert len(chosen) == 1, "both choices recorded"
        winner = chosen.pop()
        assert all((r.status_code == 200) == (u == links[winner]) for r, u in zip(replies, urls))
        result = outcome(hub, order)
        assert result["data"]["decision"] == ("approved" if winner == "approve" else "denied")
        assert requests.get(hub.http(f"/v1/outcomes/{order}?after=1&timeout=1"), timeout=5).status_code == 204


def create(hub, body, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(hub.http("/v1/actions"), json=body, headers=headers, timeout=10)


def group_body(**extra):
    return {"messageName": "m", "correlationKey": "c-" + uuid.uuid4().hex[:6], "ttl": 3600,
            "actions": [{"name": "yes", "label": "Yes", "variables": {"ok": True},
                         "inputs": [{"name": "amount", "type": "number", "min": 1, "max": 100, "required": True, "label": "Amount"}]},
                        {"name": "no", "label": "No"}], **extra}


def test_the_api_creates_groups_idempotently_validates_inputs_and_revokes(hub):
    r = create(hub, group_body(group="invoice-7"))
    assert r.status_code == 201, r.text
    links = r.json()["links"]
    assert create(hub, group_body(group="invoice-7") | {"correlationKey": r.json().get("x", "other")}).status_code == 409
    for bad in [{}, group_body(ttl=0), group_body(actions=[]), group_body(group="bad group"), group_body(extra=1),
                group_body(actions=[{"name": "a"}, {"name": "a"}]), group_body(actions=[{"name": "a", "variables": {"x": 1}, "inputs": [{"name": "x"}]}])]:
        assert create(hub, bad).status_code == 400, bad

    for value, message in [(None, "Amount is required"), ("500", "at most 100"), ("abc", "must be a number")]:
        data = {} if value is None else {"amount": value}
        page = requests.post(links["yes"], data=data, timeout=10)
        assert page.status_code == 400 and message in page.text, (value, page.text[:300])
    assert requests.get(hub.http("/v1/actions/invoice-7"), timeout=5).json()["state"] == "open"

    assert requests.delete(hub.http("/v1/actions/invoice-7"), timeout=5).json()["state"] == "revoked"
    for url in links.values():
        assert requests.get(url, timeout=5).status_code == 410
        assert requests.post(url, data={"amount": "5"}, timeout=5).status_code == 410
    assert requests.delete(hub.http("/v1/actions/nope"), timeout=5).status_code == 404


def test_a_used_group_cannot_be_revoked_and_inputs_travel_with_the_message(hub):
    body = group_body()
    body["messageName"], body["correlationKey"] = "approval-decision", "never-waiting"
    r = create(hub, body)
    links, group = r.json()["links"], r.json()["group"]
    used = requests.post(links["yes"], json={"inputs": {"amount": 42}}, headers=JSON, timeout=10)
    assert used.status_code == 200 and used.json()["state"] == "used", used.text
    state = requests.get(hub.http(f"/v1/actions/{group}"), timeout=5).json()
    assert state["variables"] == {"ok": True, "amount": 42}
    refused = requests.delete(hub.http(f"/v1/actions/{group}"), timeout=5)
    assert refused.status_code == 409 and refused.json()["recorded"]["recordedAction"] == "yes"


def test_links_expire(hub):
    r = create(hub, group_body(ttl=1))
    url = r.json()["links"]["no"]
    time.sleep(1.3)
    assert requests.get(url, timeout=5).status_code == 410
    assert requests.post(url, timeout=5).status_code == 410


def test_forged_and_crossed_link_tokens_are_not_found(hub):
    links = create(hub, group_body()).json()["links"]
    base, token = links["yes"].rsplit("/", 1)
    assert requests.get(base + "/" + ("B" if token[0] == "A" else "A") + token[1:], timeout=5).status_code == 404
    crossed = links["no"].rsplit("/", 1)[0] + "/" + token
    assert requests.post(crossed, timeout=5).status_code == 404
    assert requests.get(hub.http("/v1/actions/g/yes/short"), timeout=5).status_code == 404


def test_creating_links_needs_the_publisher_key_when_one_is_set(make_hub):
    h = make_hub("--dev-engine", "--publisher-key", "k1")
    assert create(h, group_body()).status_code == 401
    assert create(h, group_body(), key="wrong").status_code == 401
    r = create(h, group_body(), key="k1")
    assert r.status_code == 201
    assert requests.get(h.http(f"/v1/actions/{r.json()['group']}"), timeout=5).status_code == 401
    # The links themselves need no key: they are the capability.
    assert requests.get(r.json()["links"]["no"], timeout=5).status_code == 200


def test_link_routes_are_rate_limited_per_address(make_hub):
    h = make_hub("--dev-engine", "--callback-rate-limit", "2")
    codes = [requests.get(h.http("/v1/actions/g/yes/" + "x" * 43), timeout=5).status_code for _ in range(12)]
    assert codes.count(429) >= 4 and codes.count(404) >= 3, codes


def test_groups_and_recorded_choices_survive_a_restart(make_hub, tmp_path):
    engine = Process([hub_binary(), "dev-engine", "--port", "0"], r"listening (http://127\.0\.0\.1:\d+)")
    try:
        deploy(engine.url, os.path.join(FIXTURES, "action-links.bpmn"))
        common = ["--camunda-url", engine.url, "--store", "log", "--store-path", str(tmp_path / "outcomes.log"), "--worker-job-timeout", "2"]
        hub_a = make_hub(*common)
        first, _, v1 = start_approval(engine.url)
        second, instance2, v2 = start_approval(engine.url)
        assert requests.post(v1["actionLinks"]["deny"], timeout=10).status_code == 200
        hub_a.proc.send_signal(signal.SIGKILL)
        hub_a.proc.wait()
        hub_a.stop = lambda *a, **k: 0

        hub_b = make_hub(*common)
        moved = lambda url: hub_b.http(url.split(f":{hub_a.port}", 1)[1])
        assert "Already recorded" in requests.post(moved(v1["actionLinks"]["deny"]), timeout=10).text
        assert requests.post(moved(v1["actionLinks"]["approve"]), timeout=10).status_code == 409
        assert requests.post(moved(v2["actionLinks"]["approve"]), data={"note": "after restart"}, timeout=10).status_code == 200
        deadline = time.time() + 15
        while engine_call(engine.url, "GET", f"/v2/process-instances/{instance2}").json()["state"] != "COMPLETED":
            assert time.time() < deadline
            time.sleep(0.2)
    finally:
        engine.stop()
