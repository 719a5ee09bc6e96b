"""Lambda `ExportFire`: the target of every export schedule (EventBridge Scheduler).

Input: `{"tenant", "export_id", "scheduled_time": "<aws.scheduler.scheduled-time>"}`. Scheduler
invokes it asynchronously: an exception gets Lambda's two retries, then the event goes to the
function's on-failure queue (infra: `FireFailures`); the scheduler's own retry policy and
dead-letter queue cover delivering the invocation only (docs/exports.md, "Scheduled exports").
"""

from __future__ import annotations

from typing import Any

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.schedules import fire
from activitylog.models.env import FireEnv
from activitylog.models.schedules import FireEvent

ENVIRONMENT = FireEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    metrics.add(metrics.SCHEDULE_FIRINGS)
    firing = FireEvent.model_validate(event)
    result = fire(firing, now=clock.now(), ports=wiring.container().fire_ports())
    logger.info("schedule fired", extra={**firing.model_dump(mode="json"), **result.model_dump()})
    return result.model_dump()
