"""The official Camunda Python SDK (camunda-orchestration-sdk, pinned in requirements.txt) against
the embedded dev engine, unchanged: it validates every response against the 8.10 API, so a
member the API requires and the dev engine leaves out fails here. Its own job worker runs the
work, completing, throwing BPMN errors and failing jobs; messages, incidents, cancellation and
awaited completion go through its client."""
import asyncio
import os
import time
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
            # A REST server can see the instance waiting for its message before sending it.
            from camunda_orchestration_sdk.models.message_subscription_search_query import MessageSubscriptionSearchQuery

            async def subscribed():
                found = await c.search_message_subscriptions(data=MessageSubscriptionSearchQuery.from_dict(
                    {"filter": {"processInstanceKey": instance, "messageName": "go"}}))
                return [s for s in found.items if s.correlation_key == order]
            await wait_for(subscribed)
            [subscription] = await subscribed()
            assert subscription.element_id == "WaitGo" and subscription.message_subscription_state.value == "CREATED"
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
            # Retried as an operator does: one more retry for the job, then the instance's incidents resolved.
            from camunda_orchestration_sdk.models.job_update_request import JobUpdateRequest
            from camunda_orchestration_sdk.models.job_changeset import JobChangeset
            await c.update_job(job_key=incident.job_key, data=JobUpdateRequest(changeset=JobChangeset(retries=1)))
            operation = await c.resolve_process_instance_incidents(process_instance_key=broken_key)
            assert operation.batch_operation_type.value == "RESOLVE_INCIDENT"
            assert (await c.get_incident(incident_key=incident.incident_key)).state.value == "RESOLVED"

            async def failed_again():  # the worker fails it once more (retries=0): a new incident
                found = await c.search_process_instance_incidents(process_instance_key=broken_key, data=IncidentSearchQuery.from_dict({"filter": {"state": "ACTIVE"}}))
                return found.items
            await wait_for(failed_again)

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


def test_the_official_sdk_drives_user_tasks_timers_signals_and_the_operator_reads(client):
    """A parallel approval with a user task, a reminder (non-interrupting timer) and an expiry
    (interrupting timer into a terminate end event), moved through time with the controlled clock;
    signals to a catch event and a signal start event; and the reads an operator does."""
    hub, Client = client
    from camunda_orchestration_sdk.models.clock_pin_request import ClockPinRequest
    from camunda_orchestration_sdk.models.element_instance_search_query import ElementInstanceSearchQuery
    from camunda_orchestration_sdk.models.process_definition_search_query import ProcessDefinitionSearchQuery
    from camunda_orchestration_sdk.models.process_instance_search_query import ProcessInstanceSearchQuery
    from camunda_orchestration_sdk.models.set_variable_request import SetVariableRequest
    from camunda_orchestration_sdk.models.set_variable_request_variables import SetVariableRequestVariables
    from camunda_orchestration_sdk.models.signal_broadcast_request import SignalBroadcastRequest
    from camunda_orchestration_sdk.models.signal_broadcast_request_variables import SignalBroadcastRequestVariables
    from camunda_orchestration_sdk.models.user_task_assignment_request import UserTaskAssignmentRequest
    from camunda_orchestration_sdk.models.user_task_completion_request import UserTaskCompletionRequest
    from camunda_orchestration_sdk.models.user_task_completion_request_variables import UserTaskCompletionRequestVariables
    from camunda_orchestration_sdk.models.user_task_search_query import UserTaskSearchQuery
    from camunda_orchestration_sdk.models.variable_search_query import VariableSearchQuery

    async def scenario():
        c = Client()
        deployed = await c.deploy_resources_from_files([os.path.join(FIXTURES, "approval.bpmn"), os.path.join(FIXTURES, "signals.bpmn")])
        assert sorted(p.process_definition_id for p in deployed.processes) == ["approval", "on-stop", "wait-for-stop"]

        # Definitions: search (latest versions only), get, and the deployed XML back.
        found = await c.search_process_definitions(data=ProcessDefinitionSearchQuery.from_dict(
            {"filter": {"processDefinitionId": "approval", "isLatestVersion": True}}))
        [definition] = found.items
        assert definition.name == "Prepare while a manager approves, within 48 hours" and definition.version == 1
        got = await c.get_process_definition(process_definition_key=definition.process_definition_key)
        assert got.resource_name == "approval.bpmn"
        xml = await c.get_process_definition_xml(process_definition_key=definition.process_definition_key)
        assert 'id="approval"' in xml

        prepared, reminded = [], []

        async def prepare(job):
            prepared.append(job.process_instance_key)
            return {"prepared": True}

        async def remind(job):
            reminded.append(job.process_instance_key)
            return {}

        c.create_job_worker(config=WorkerConfig(job_type="sdk-prepare", job_timeout_milliseconds=30_000, request_timeout_milliseconds=1_000), callback=prepare)
        c.create_job_worker(config=WorkerConfig(job_type="sdk-remind", job_timeout_milliseconds=30_000, request_timeout_milliseconds=1_000), callback=remind)
        workers = asyncio.create_task(c.run_workers())
        try:
            # 1. Approved in time: both branches meet at the join.
            approved = (await c.create_process_instance(data=ProcessCreationById(
                process_definition_id="approval", variables=Variables.from_dict({"request": "r1"})))).process_instance_key

            async def task_for(instance):
                tasks = await c.search_user_tasks(data=UserTaskSearchQuery.from_dict(
                    {"filter": {"processInstanceKey": instance, "candidateGroup": "managers", "state": "CREATED"}}))
                return tasks.items[0] if tasks.items else None

            await wait_for(lambda: _truthy(task_for(approved)))
            task = await task_for(approved)
            assert task.name == "Approve the request" and task.external_form_reference == "https://forms.example/approve"
            await c.assign_user_task(user_task_key=task.user_task_key, data=UserTaskAssignmentRequest(assignee="ann"))
            assert (await c.get_user_task(user_task_key=task.user_task_key)).assignee == "ann"
            await c.complete_user_task(user_task_key=task.user_task_key, data=UserTaskCompletionRequest(
                variables=UserTaskCompletionRequestVariables.from_dict({"approved": True})))

            async def state(instance):
                return (await c.get_process_instance(process_instance_key=instance)).state.value
            await wait_for(lambda: _equals(state(approved), "COMPLETED"))
            assert approved in prepared

            # What it went through: element instances, flows taken, per-element counts, variables.
            elements = await c.search_element_instances(data=ElementInstanceSearchQuery.from_dict(
                {"filter": {"processInstanceKey": approved}, "page": {"limit": 100}}))
            by_id = {e.element_id: e for e in elements.items}
            assert by_id["Join"].type_.value == "PARALLEL_GATEWAY" and by_id["Approve"].state.value == "COMPLETED"
            assert (await c.get_element_instance(element_instance_key=by_id["Approve"].element_instance_key)).element_name == "Approve the request"
            flows = {f.sequence_flow_id for f in (await c.get_process_instance_sequence_flows(process_instance_key=approved)).items}
            assert {"Flow_approve", "Flow_prepare", "Flow_approved", "Flow_prepared", "Flow_done"} <= flows and "Flow_expired" not in flows
            stats = {s.element_id: s for s in (await c.get_process_instance_statistics(process_instance_key=approved)).items}
            assert stats["Join"].completed == 1 and stats["Approve"].completed == 1
            per_definition = await c.get_process_definition_statistics(process_definition_key=definition.process_definition_key)
            assert {s.element_id: s.completed for s in per_definition.items}["Join"] == 1
            variables = await c.search_variables(data=VariableSearchQuery.from_dict({"filter": {"processInstanceKey": approved, "name": "approved"}}))
            [variable] = variables.items
            assert variable.value == "true"
            assert (await c.get_variable(variable_key=variable.variable_key)).value == "true"

            # 2. Nobody approves: a reminder after a day (the task stays), the expiry after two
            #    (the task goes, the terminate end event ends the waiting branch too).
            lapsed = (await c.create_process_instance(data=ProcessCreationById(
                process_definition_id="approval", variables=Variables.from_dict({"request": "r2"})))).process_instance_key
            await wait_for(lambda: _truthy(task_for(lapsed)))
            lapsed_task = await task_for(lapsed)
            # Variables set on the running instance from outside, as an operator would.
            await c.create_element_instance_variables(element_instance_key=lapsed, data=SetVariableRequest(
                variables=SetVariableRequestVariables.from_dict({"note": "chased"})))
            now_ms = int(time.time() * 1000)
            await c.pin_clock(data=ClockPinRequest(timestamp=now_ms + 24 * 3_600_000 + 1_000))
            await wait_for(lambda: _equals(_count(reminded, lapsed), 1))
            assert (await c.get_user_task(user_task_key=lapsed_task.user_task_key)).state.value == "CREATED"
            await c.pin_clock(data=ClockPinRequest(timestamp=now_ms + 48 * 3_600_000 + 1_000))
            await wait_for(lambda: _equals(state(lapsed), "COMPLETED"))
            assert (await c.get_user_task(user_task_key=lapsed_task.user_task_key)).state.value == "CANCELED"
            elements = await c.search_element_instances(data=ElementInstanceSearchQuery.from_dict(
                {"filter": {"processInstanceKey": lapsed, "elementId": "TimedOut"}}))
            assert elements.items[0].state.value == "COMPLETED"
            await c.reset_clock()

            # 3. Signals: the waiting instance goes on, and the signal start event starts one.
            waiting = (await c.create_process_instance(data=ProcessCreationById(process_definition_id="wait-for-stop"))).process_instance_key
            assert await state(waiting) == "ACTIVE"
            await c.broadcast_signal(data=SignalBroadcastRequest(signal_name="stop", variables=SignalBroadcastRequestVariables.from_dict({"why": "test"})))
            assert await state(waiting) == "COMPLETED"
            started = await c.search_process_instances(data=ProcessInstanceSearchQuery.from_dict({"filter": {"processDefinitionId": "on-stop"}}))
            assert started.page.total_items == 1 and started.items[0].state.value == "ACTIVE"
        finally:
            workers.cancel()
            await c.reset_clock()

    asyncio.run(scenario())


async def _truthy(coroutine):
    return bool(await coroutine)


async def _equals(coroutine, expected):
    return (await coroutine) == expected


async def _count(items, value):
    return items.count(value)
