"""Lambda `ExportFail`: the Catch target of every step (run failed, partial objects removed)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers.export_wiring import workflow_ports
from activitylog.handlers.http import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import fail_run, reason
from activitylog.models.exports import WorkflowInput


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.model_validate({k: event[k] for k in ("tenant", "export_id", "run_id")})
    error = event.get("error") or {}
    why = reason(str(error.get("Error", "unknown")), str(error.get("Cause", "")))
    logger.warning("export run failed", extra={"run_id": inp.run_id, "reason": why})
    fail_run(inp, why, now=clock.now(), ports=workflow_ports())
    return inp.model_dump()
