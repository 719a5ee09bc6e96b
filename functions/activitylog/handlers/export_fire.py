"""Lambda `ExportFire`: the target of every export schedule (EventBridge Scheduler).

Input: `{"tenant", "export_id", "scheduled_time": "<aws.scheduler.scheduled-time>"}`. An exception
makes Scheduler retry (its retry policy), then park the event in the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from activitylog.dal.workflow import start_execution
from activitylog.handlers.export_wiring import schedule_store, store
from activitylog.handlers.http import logger
from activitylog.logic import clock
from activitylog.logic.schedules import FirePorts, fire
from activitylog.models.schedule_env import fire_env
from activitylog.models.schedules import FireEvent


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    firing = FireEvent.model_validate(event)
    env = fire_env()
    ports = FirePorts(
        exports=store(),
        schedules=schedule_store(),
        start_workflow=lambda inp: start_execution(env.state_machine, inp),
    )
    result = fire(firing, now=clock.now(), ports=ports)
    logger.info("schedule fired", extra={**firing.model_dump(mode="json"), **result.model_dump()})
    return result.model_dump()
