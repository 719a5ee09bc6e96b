"""Stateful stack: the data. Deployed and reviewed separately; its tables are retained on deletion."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs.export_storage import ExportStorage
from infra.constructs.tables import Tables

STATEFUL_STACK_NAME = "ActivityLog-Stateful"


class StatefulStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tables = Tables(self, "Tables")
        self.exports = ExportStorage(self, "Exports")
        CfnOutput(self, "EventsTableName", value=self.tables.events.table_name)
        CfnOutput(self, "ControlTableName", value=self.tables.control.table_name)
