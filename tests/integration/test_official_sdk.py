"""The official Camunda Python SDK (camunda-orchestration-sdk, pinned in requirements.txt) against
the embedded dev engine, unchanged: it validates every response against the 8.10 API, so a
member the API requires and the dev engine leaves out fails here. Its own job worker runs the
work, completing, throwing BPMN errors and failing jobs; messages, incidents, cancellation and
awaited completion go through its client."""
import asyncio
import os
import uuid

import pytest

from conftest import ROOT
from test_engine import FIXTURES

sdk = pytest.importorskip("camunda_orchestration_sdk")
from camunda_orchestration_sdk.models.incident_search_query import IncidentSearchQuery  # noqa: E402
from camunda_orchestration_sdk.models.message_correlation_request import MessageCorrelationRequest  # noqa: E402
from camunda_orchestration_sdk.models.message_publication_request import MessagePublicationRequest  # noqa: E402
from camunda_orchestration_sdk.models.message_publication_request_variables import MessagePublicationRequestVariables  # noqa: E402
from camunda_orchestration_sdk.models.process_creation_by_id import ProcessCreationById  # noqa: E402
from camunda_orchestration_sdk.models.process_instance_creation_instruction_base_variables import (  # noqa: E402
    ProcessInstanceCreationInstructionBaseVariables as Variables)
from camunda_orchestration_sdk.runtime.job_worker import JobError, JobFailure, WorkerConfig  # noqa: E402


@pytest.fixture
def client(make_hub, monkeypatch):
    hub = make_hub("--dev-engine")
    monkeypatch.setenv("CAMUNDA_REST_ADDRESS", hub.http(""))
    monkeypatch.setenv("CAMUNDA_AUTH_STRATEGY", "NONE")
    return hub, sdk.CamundaAsyncClient


def create(c, mode, **extra):
    order = "sdk-" + uuid.uuid4().hex[:8]
    variables = Variables.from_dict({"orderId": order, "affinityKey": order, "mode": mode, **extra})
    return order, c.create_process_instance(data=ProcessCreationById(process_definition_id="sdk-flow", variables=variables))


async def wait_for(predicate, timeout=10):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


def test_the_official_sdk_runs_a_workflow_on_the_dev_engine_unchanged(client):
    hub, Client = client

    async def scenario():
        c = Client()
        topology = await c.get_topology()
        assert topology.brokers[0].partitions[0].role.value == "leader"
        deployed = await c.deploy_resources_from_files([os.path.join(FIXTURES, "sdk-flow.bpmn")])
        again = await c.deploy_resources_from_files([os.path.join(FIXTURES, "sdk-flow.bpmn")])
        # The same bytes again are the same version (as in Zeebe).
        assert again.processes[0].process_definition_key == deployed.processes[0].process_definition_key

        async def work(job):
            mode = job.variables.to_dict()["mode"]
            if mode == "error":
                raise JobError("WORK_FAILED", "cannot", {"why": "bad input"})
            if mode == "fail":
                raise JobFailure("the printer is on fire", retries=0)
            return {"result": 42}

        c.create_job_worker(config=WorkerConfig(job_type="sdk-work", job_timeout_milliseconds=30_000, request_timeout_milliseconds=2_000),
                            callback=work)
        workers = asyncio.create_task(c.run_workers())
        try:
            # Completed by the SDK's worker, then a buffered message with an id, then the hub's outcome.
            order, created = create(c, "ok")
            instance = (await created).process_instance_key
            await c.publish_message(data=MessagePublicationRequest(name="go", correlation_key=order, time_to_live=60_000, message_id="go-" + order,
                                                                   variables=MessagePublicationRequestVariables.from_dict({"go": True})))

            async def completed():
                return (await c.get_process_instance(process_instance_key=instance)).state.value == "COMPLETED"
            await wait_for(completed)
            got = await c.get_process_instance(process_instance_key=instance)
            assert got.has_incident is False and got.end_date is not None

            # A BPMN error from the worker is caught by the boundary event; awaited completion returns the variables.
            failed_order = "sdk-await-" + uuid.uuid4().hex[:6]
            result = await c.create_process_instance(data=ProcessCreationById(
                process_definition_id="sdk-flow", await_completion=True, request_timeout=10_000,
                variables=Variables.from_dict({"orderId": failed_order, "affinityKey": failed_order, "mode": "error"})))
            variables = result.variables.to_dict()
            assert variables["errorCode"] == "WORK_FAILED" and variables["why"] == "bad input"

            # A failure with no retries is an incident the SDK finds.
            _, broken = create(c, "fail")
            broken_key = (await broken).process_instance_key

            async def has_incident():
                found = await c.search_incidents(data=IncidentSearchQuery())
                return any(i.process_instance_key == broken_key for i in found.items)
            await wait_for(has_incident)
            found = await c.search_incidents(data=IncidentSearchQuery())
            [incident] = [i for i in found.items if i.process_instance_key == broken_key]
            assert incident.error_message == "the printer is on fire" and incident.error_type.value == "JOB_NO_RETRIES"
            assert (await c.get_incident(incident_key=incident.incident_key)).state.value == "ACTIVE"

            # Cancelled: TERMINATED, as the API names it.
            await c.cancel_process_instance(process_instance_key=broken_key, data=None)
            assert (await c.get_process_instance(process_instance_key=broken_key)).state.value == "TERMINATED"

            # The searches an operator or a REST server uses first, through the SDK's own models.
            from camunda_orchestration_sdk.models.job_search_query import JobSearchQuery
            from camunda_orchestration_sdk.models.process_instance_search_query import ProcessInstanceSearchQuery
            instances = await c.search_process_instances(data=ProcessInstanceSearchQuery.from_dict(
                {"filter": {"processDefinitionId": "sdk-flow", "state": "COMPLETED"}, "sort": [{"field": "processInstanceKey", "order": "DESC"}]}))
            assert instances.page.total_items >= 2 and all(i.state.value == "COMPLETED" for i in instances.items)
            keys = [int(i.process_instance_key) for i in instances.items]
            assert keys == sorted(keys, reverse=True)
            jobs = await c.search_jobs(data=JobSearchQuery.from_dict({"filter": {"type": "publish-outcome"}, "page": {"limit": 50}}))
            assert all(j.type_ == "publish-outcome" for j in jobs.items)
            await c.get_status()

            # Correlating with nobody waiting is NOT_FOUND, as in Zeebe.
            with pytest.raises(Exception) as refused:
                await c.correlate_message(data=MessageCorrelationRequest(name="go", correlation_key="nobody-waits"))
            assert "404" in str(refused.value)
        finally:
            workers.cancel()

    asyncio.run(scenario())
