"""Starts export workflow executions (Step Functions)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf
from activitylog.models.exports import WorkflowInput


class StepFunctionsWorkflow:
    """The export state machine: one execution per run."""

    _sfn = ClientOf("stepfunctions")

    def __init__(self, state_machine_arn: str, sfn: Any = None) -> None:
        self._arn = state_machine_arn
        self._client = sfn

    def start(self, inp: WorkflowInput) -> None:
        """Named after the run (ULIDs never contain `:`): a retry cannot start it twice."""
        try:
            self._sfn.start_execution(stateMachineArn=self._arn, name=inp.run_id, input=inp.model_dump_json())
        except ClientError as err:
            if errors.code(err) == "ExecutionAlreadyExists":
                return
            raise errors.unavailable(err, "the workflow service") from err
