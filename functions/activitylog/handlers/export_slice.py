"""Lambda `ExportSlice`: one Map iteration (the events of one time slice into a temporary object)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.export_workflow import slice_ref, write_slice
from activitylog.models.env import SliceEnv

ENVIRONMENT = SliceEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return write_slice(slice_ref(event), now=clock.now(), ports=wiring.container().workflow_ports())
