"""Lambda `ExportNotify`: emails a run's outcome (success or failure) to the export's recipients."""

from __future__ import annotations

from typing import Any

from activitylog.handlers.export_wiring import notify_ports
from activitylog.handlers.http import logger
from activitylog.logic.export_notify import notify
from activitylog.models.exports import WorkflowInput


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.model_validate({k: event[k] for k in ("tenant", "export_id", "run_id")})
    return {**inp.model_dump(), "notified": notify(inp, ports=notify_ports())}
