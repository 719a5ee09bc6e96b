"""Starts export workflow executions (Step Functions)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal.clients import client
from activitylog.models.errors import StorageUnavailableError
from activitylog.models.exports import WorkflowInput


class StepFunctionsWorkflow:
    """The export state machine: one execution per run."""

    def __init__(self, state_machine_arn: str, sfn: Any = None) -> None:
        self._arn = state_machine_arn
        self._client = sfn

    def start(self, inp: WorkflowInput) -> None:
        """Named after the run (ULIDs never contain `:`): a retry cannot start it twice."""
        if self._client is None:
            self._client = client("stepfunctions")
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=inp.run_id, input=inp.model_dump_json()
            )
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code == "ExecutionAlreadyExists":
                return
            if code in ("ThrottlingException", "ServiceUnavailable"):
                raise StorageUnavailableError("the workflow service is busy, retry later") from err
            raise
