"""Lambda `ExportAssemble`: the slices, in order, into the run's one file; the run succeeds."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import assemble_run, reading_time
from activitylog.models.env import AssembleEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = AssembleEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    rows = [int(result["rows"]) for result in event.get("slice_results", [])]
    run = assemble_run(inp, rows, now=clock.now(), ports=wiring.container().workflow_ports())
    metrics.add(metrics.EXPORT_RUNS_SUCCEEDED)
    metrics.add(metrics.EXPORT_ROWS, run.row_count or 0)
    metrics.add(metrics.EXPORT_BYTES, run.bytes or 0)
    seconds = reading_time(run)
    if seconds is not None:
        metrics.add(metrics.EXPORT_DURATION, seconds)
    logger.info(
        "export run succeeded",
        extra={**inp.model_dump(), "rows": run.row_count, "bytes": run.bytes, "seconds": seconds},
    )
    return inp.model_dump()
