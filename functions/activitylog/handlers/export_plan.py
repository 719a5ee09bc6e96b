"""Lambda `ExportPlan`: first workflow step (mark running, cut the time range into slices)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import plan
from activitylog.models.env import PlanEnv
from activitylog.models.exports import WorkflowInput

ENVIRONMENT = PlanEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    inp = WorkflowInput.model_validate(event)
    return plan(inp, now=clock.now(), ports=wiring.container().workflow_ports())
