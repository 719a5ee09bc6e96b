"""Lambda `ExportWatchdog`: EventBridge "Step Functions Execution Status Change" (FAILED, TIMED_OUT,
ABORTED). An execution-level timeout or an abort skips every Catch: this marks such runs failed
(only if still queued or running, so it is idempotent and harmless after a caught failure).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import fail_run, reason
from activitylog.models.env import WatchdogEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = WatchdogEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event.get("detail") or {}
    status = str(detail.get("status", ""))
    try:
        inp = WorkflowInput.model_validate(json.loads(detail.get("input") or "{}"))
    except (ValueError, ValidationError):
        logger.warning("status change of an execution without run references", extra={"detail": detail})
        return {"failed": False}
    why = reason(status, str(detail.get("cause") or detail.get("error") or ""))
    changed = fail_run(inp, why, now=clock.now(), ports=wiring.container().workflow_ports())
    if changed:
        metrics.add(metrics.EXPORT_RUNS_FAILED)
        logger.warning("export run failed (execution ended)", extra={**inp.model_dump(), "reason": why})
    return {**inp.model_dump(), "failed": changed}
