"""The Python client in clients/python (installed into the test venv from its path) against a real
hub and the dev engine: start-and-await on the official Camunda SDK (finished, and pending then
awaited), a connection that survives a hub restart and resumes without loss or repeat, callbacks,
publishing over the socket, subscription tokens, and webhook verification against the hub's own
signed requests."""
import asyncio
import os
import socket

import pytest
import requests

from conftest import ROOT, Hub
from webhook_receiver import Receiver

affinity_hub = pytest.importorskip("affinity_hub")
sdk = pytest.importorskip("camunda_orchestration_sdk")
from affinity_hub import HubConnection, HubError, mint_token, start_and_await, verify_webhook, WebhookVerificationError  # noqa: E402

ORDER = os.path.join(ROOT, "Examples", "OrderService", "Sources", "OrderService", "order.bpmn")
WAITS = (b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         b'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"><bpmn:process id="py-waits" isExecutable="true"><bpmn:startEvent id="s"/>'
         b'<bpmn:intermediateCatchEvent id="Go"><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateCatchEvent>'
         b'<bpmn:serviceTask id="P"><bpmn:extensionElements><zeebe:taskDefinition type="publish-outcome"/>'
         b'<zeebe:taskHeaders><zeebe:header key="affinityStatus" value="completed"/><zeebe:header key="affinityVariables" value="go"/></zeebe:taskHeaders>'
         b'</bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Go"/>'
         b'<bpmn:sequenceFlow id="f2" sourceRef="Go" targetRef="P"/><bpmn:sequenceFlow id="f3" sourceRef="P" targetRef="e"/></bpmn:process>'
         b'<bpmn:message id="M" name="py-go"><bpmn:extensionElements><zeebe:subscription correlationKey="=affinityKey"/></bpmn:extensionElements>'
         b'</bpmn:message></bpmn:definitions>')


def test_start_and_await_with_the_official_sdk_finished_and_pending(make_hub, monkeypatch):
    hub = make_hub("--dev-engine")
    monkeypatch.setenv("CAMUNDA_REST_ADDRESS", hub.http(""))
    monkeypatch.setenv("CAMUNDA_AUTH_STRATEGY", "NONE")
    assert requests.post(hub.http("/v2/deployments"), files={"resources": ("waits.bpmn", WAITS)}, timeout=10).status_code == 200

    async def scenario():
        client = sdk.CamundaAsyncClient()
        await client.deploy_resources_from_files([ORDER])
        async with HubConnection(hub.http("")) as connection:
            done = await start_and_await(client, connection, "example-order", {"item": "book", "quantity": 2}, timeout=10)
            assert done.finished and done.outcome.status == "completed" and done.outcome.data == {"item": "book", "quantity": 2}
            pending = await start_and_await(client, connection, "py-waits", {}, timeout=0.3)
            assert not pending.finished and pending.key.startswith("py-waits-")
            from camunda_orchestration_sdk.models.message_publication_request import MessagePublicationRequest
            from camunda_orchestration_sdk.models.message_publication_request_variables import MessagePublicationRequestVariables
            await client.publish_message(data=MessagePublicationRequest(name="py-go", correlation_key=pending.key, time_to_live=60_000,
                                                                        variables=MessagePublicationRequestVariables.from_dict({"go": True})))
            late = await pending.wait(10)
            assert late.data == {"go": True} and late.key == pending.key
    asyncio.run(scenario())


def test_the_connection_resumes_across_a_hub_restart_without_loss_or_repeat(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    args = ["--port", str(port), "--store", "log", "--store-path", str(tmp_path / "o.log")]
    hub = Hub(args)
    try:
        async def scenario():
            nonlocal hub
            seen = []
            async with HubConnection(hub.http("")) as connection:
                connection.on_outcome("resume-1", seen.append)
                await connection.subscribe("resume-1")
                for i in range(2):
                    requests.post(hub.http("/v1/outcomes/resume-1"), json={"status": "progress", "data": {"i": i}}, timeout=5)
                await wait_until(lambda: len(seen) == 2)
                assert hub.stop() == 0
                hub = Hub(args)                    # same port, same log: the retained outcomes survive
                for i in range(2, 4):
                    requests.post(hub.http("/v1/outcomes/resume-1"), json={"status": "progress", "data": {"i": i}}, timeout=5)
                await wait_until(lambda: len(seen) == 4, timeout=15)
                await asyncio.sleep(0.3)
                assert [o.seq for o in seen] == [1, 2, 3, 4] and [o.data["i"] for o in seen] == [0, 1, 2, 3]
                assert connection.connects >= 2
        asyncio.run(scenario())
    finally:
        hub.stop()


def test_publishing_over_the_socket_and_subscription_tokens(make_hub):
    hub = make_hub("--publisher-key", "pk", "--token-secret", "s" * 32)

    async def scenario():
        async with HubConnection(hub.http(""), publisher_key="pk") as publisher, HubConnection(hub.http("")) as reader:
            token = mint_token("s" * 32, ["tok-*"])
            waiting = asyncio.create_task(reader.outcome("tok-1", timeout=10, token=token))
            await asyncio.sleep(0.3)
            receipt = await publisher.publish("tok-1", "completed", {"ok": True}, idempotency_key="once")
            assert receipt["seq"] == 1 and receipt["duplicate"] is False
            assert (await waiting).data == {"ok": True}
            again = await publisher.publish("tok-1", "completed", {"ok": True}, idempotency_key="once")
            assert again["duplicate"] is True
            with pytest.raises(HubError) as refused:
                await reader.subscribe("other-1", token=token)
            assert refused.value.code == "forbidden"
    asyncio.run(scenario())


def test_webhook_verification_accepts_the_hubs_requests_and_refuses_tampering(make_hub):
    receiver = Receiver()
    try:
        hub = make_hub("--webhook-allow-private")
        secret = requests.post(hub.http("/v1/webhooks"), json={"url": receiver.url("/py"), "keys": ["wh-*"]}, timeout=5).json()["secret"]
        requests.post(hub.http("/v1/outcomes/wh-1"), json={"status": "completed", "data": {"n": 1}}, timeout=5)
        [(headers, body, _)] = receiver.wait_for("/py", 1)
        outcome = verify_webhook(secret, headers, body)
        assert outcome.key == "wh-1" and outcome.data == {"n": 1} and outcome.terminal
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, headers, body.replace(b"wh-1", b"wh-2"))
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, headers, body, now=int(headers["webhook-timestamp"]) + 301)
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, {k: v for k, v in headers.items() if k != "webhook-signature"}, body)
    finally:
        receiver.stop()


async def wait_until(predicate, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
