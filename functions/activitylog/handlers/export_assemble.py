"""Lambda `ExportAssemble`: the slices, in order, into the run's one file; the run succeeds."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import assemble_run
from activitylog.models.env import WorkflowEnv
from activitylog.models.exports import WorkflowInput

wiring.require(WorkflowEnv)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    rows = [int(result["rows"]) for result in event.get("slice_results", [])]
    return assemble_run(inp, rows, now=clock.now(), ports=wiring.container().workflow_ports())
