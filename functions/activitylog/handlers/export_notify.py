"""Lambda `ExportNotify`: emails a run's outcome (success or failure) to the export's recipients."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic.export_notify import notify
from activitylog.models.env import NotifyEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = NotifyEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.of(event)
    return {**inp.model_dump(), "notified": notify(inp, ports=wiring.container().notify_ports())}
