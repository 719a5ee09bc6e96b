"""Lambda `ExportAssemble`: the slices, in order, into the run's one file; the run succeeds."""

from __future__ import annotations

from typing import Any

from activitylog.handlers.export_wiring import workflow_ports
from activitylog.handlers.http import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import assemble_run
from activitylog.models.exports import WorkflowInput


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.model_validate({k: event[k] for k in ("tenant", "export_id", "run_id")})
    rows = [int(result["rows"]) for result in event.get("slice_results", [])]
    return assemble_run(inp, rows, now=clock.now(), ports=workflow_ports())
