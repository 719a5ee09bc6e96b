"""Lambda `ExportFail`: the Catch target of every step (run failed, partial objects removed)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import fail_run, reason
from activitylog.models.env import FailEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = FailEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    error = event.get("error") or {}
    why = reason(str(error.get("Error", "unknown")), str(error.get("Cause", "")))
    logger.warning("export run failed", extra={**inp.model_dump(), "reason": why})
    if fail_run(inp, why, now=clock.now(), ports=wiring.container().workflow_ports()):
        metrics.add(metrics.EXPORT_RUNS_FAILED)
    return inp.model_dump()
