"""Starts export workflow executions (Step Functions)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal.clients import client
from activitylog.models.errors import StorageUnavailableError
from activitylog.models.exports import WorkflowInput


def start_execution(state_machine_arn: str, inp: WorkflowInput, sfn: Any = None) -> None:
    """One execution per run, named after the run (ULIDs never contain `:`): a retry cannot start twice."""
    try:
        (sfn or client("stepfunctions")).start_execution(
            stateMachineArn=state_machine_arn, name=inp.run_id, input=inp.model_dump_json()
        )
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code == "ExecutionAlreadyExists":
            return
        if code in ("ThrottlingException", "ServiceUnavailable"):
            raise StorageUnavailableError("the workflow service is busy, retry later") from err
        raise
