"""Start-and-await on the official Camunda SDK (`camunda-orchestration-sdk`), race-free: the hub
confirms the subscription to the instance's affinity key before the instance starts, so an outcome
published at once is not missed (and the hub's retention would keep it anyway)."""
import uuid
from dataclasses import dataclass
from typing import Any, Optional

from .connection import HubConnection, HubError, Outcome


@dataclass
class Finished:
    outcome: Outcome
    process_instance_key: str
    key: str
    finished: bool = True


@dataclass
class Pending:
    """Still running when the timeout passed: answer 202 with `key`, and `wait()` again later."""
    key: str
    process_instance_key: str
    hub: HubConnection
    finished: bool = False

    async def wait(self, timeout: float) -> Outcome:
        return await self.hub.outcome(self.key, timeout)


async def start_and_await(client: Any, hub: HubConnection, process_definition_id: str, variables: Optional[dict] = None,
                          timeout: float = 5.0, affinity_key: Optional[str] = None, token: Optional[str] = None) -> "Finished | Pending":
    """Starts an instance of `process_definition_id` with `client` (a `CamundaAsyncClient`) and
    awaits its outcome through `hub`; the instance gets the variable `affinityKey`, which the hub's
    outcome worker uses as the outcome's key."""
    from camunda_orchestration_sdk.models.process_creation_by_id import ProcessCreationById
    from camunda_orchestration_sdk.models.process_instance_creation_instruction_base_variables import (
        ProcessInstanceCreationInstructionBaseVariables as Variables)

    key = affinity_key or f"{process_definition_id}-{uuid.uuid4().hex}"
    await hub.subscribe(key, token=token)
    created = await client.create_process_instance(data=ProcessCreationById(
        process_definition_id=process_definition_id, variables=Variables.from_dict({**(variables or {}), "affinityKey": key})))
    instance = str(created.process_instance_key)
    try:
        return Finished(await hub.outcome(key, timeout), instance, key)
    except HubError as e:
        if e.code != "timeout":
            raise
        return Pending(key, instance, hub)
