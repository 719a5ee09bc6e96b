"""Lambda `ExportFail`: the Catch target of every step (run failed, partial objects removed)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import fail_run, reason
from activitylog.models.env import WorkflowEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = WorkflowEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    error = event.get("error") or {}
    why = reason(str(error.get("Error", "unknown")), str(error.get("Cause", "")))
    logger.warning("export run failed", extra={"run_id": inp.run_id, "reason": why})
    fail_run(inp, why, now=clock.now(), ports=wiring.container().workflow_ports())
    return inp.model_dump()
