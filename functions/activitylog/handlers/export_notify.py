"""Lambda `ExportNotify`: emails a run's outcome (success or failure) to the export's recipients.

A mail the service refuses does not fail the step (the execution ends as the run did): it is on the
run (`notification: "failed"`), in the log line with its reason, and counted (`EmailsFailed`).
"""

from __future__ import annotations

from typing import Any

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_notify import notify
from activitylog.models.env import NotifyEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = NotifyEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start

COUNTED = {
    "sent": metrics.EMAILS_SENT,
    "failed": metrics.EMAILS_FAILED,
    "skipped_daily_limit": metrics.EMAILS_SKIPPED,
}


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    done = notify(inp, now=clock.now(), ports=wiring.container().notify_ports())
    if done.notification in COUNTED:
        metrics.add(COUNTED[done.notification])
    where = {"tenant": inp.tenant, "export_id": inp.export_id, "run_id": inp.run_id}
    if done.notification == "failed":
        logger.warning("run notification not sent", extra={**where, "reason": done.reason})
    else:
        logger.info("run notification", extra={**where, "notification": done.notification})
    return {**inp.model_dump(), "notification": done.notification}
