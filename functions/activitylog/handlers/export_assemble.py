"""Lambda `ExportAssemble`: the slices, in order, into the run's one file; the run succeeds."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import assemble_run
from activitylog.models.env import WorkflowEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = WorkflowEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    rows = [int(result["rows"]) for result in event.get("slice_results", [])]
    return assemble_run(inp, rows, now=clock.now(), ports=wiring.container().workflow_ports())
