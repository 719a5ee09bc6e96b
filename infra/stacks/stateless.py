"""Stateless stack: functions and the API. Safe to destroy and redeploy; owns no data."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constructs.alerting import Alerting
from infra.constructs.api import ActivityLogApi
from infra.constructs.api_functions import ApiFunctions
from infra.constructs.console_site import ConsoleSite
from infra.constructs.edge_guard import EdgeGuard
from infra.constructs.export_schedules import ExportSchedules
from infra.constructs.export_storage import ExportStorage
from infra.constructs.export_workflow import ExportFiles, ExportWorkflow
from infra.constructs.exports_api import ExportsApi
from infra.constructs.monitoring import Monitoring
from infra.constructs.reporting import Reporting
from infra.constructs.streaming import Streaming
from infra.constructs.tables import Tables

STATELESS_STACK_NAME = "ActivityLog-Stateless"


class StatelessStack(Stack):
    """Receives the stateful stack's constructs; each construct here configures only its own functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        export_storage: ExportStorage,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # What a construct needs from another arrives as a prop, so this order is the order of needs.
        functions = ApiFunctions(
            self,
            "Functions",
            events_table=tables.events,
            control_table=tables.control,
            idempotency_table=tables.idempotency,
            sender=export_storage.sender,  # Ingest emails quota warnings
        )
        api = ActivityLogApi(self, "Api", authorizer_function=functions.authorizer)
        api.add_routes(functions.routes())
        files = ExportFiles(
            bucket=export_storage.bucket,
            signing_secret=export_storage.signing_secret,
            api_base_url=api.url,  # API id + literal stage name: no dependency on the stage (no cycle)
        )
        workflow = ExportWorkflow(
            self,
            "Exports",
            factory=functions.factory,
            events_table=tables.events,
            control_table=tables.control,
            files=files,
            sender=export_storage.sender,
        )
        schedules = ExportSchedules(
            self,
            "Schedules",
            factory=functions.factory,
            control_table=tables.control,
            state_machine=workflow.state_machine,
        )
        exports_api = ExportsApi(
            self,
            "ExportsApi",
            state_machine=workflow.state_machine,
            schedule_group=export_storage.schedule_group,  # stateful: it holds the tenants' schedules
            scheduler_role=schedules.role,
            schedule_target=schedules.fire,
            schedule_dead_letters=schedules.dead_letters,
            factory=functions.factory,
            events_table=tables.events,
            control_table=tables.control,
            files=files,
        )
        api.add_routes(exports_api.routes())
        streaming = Streaming(
            self,
            "Streaming",
            factory=functions.factory,
            events_table=tables.events,  # its stream feeds the router
            control_table=tables.control,
            sender=export_storage.sender,  # a disabled destination's notice
        )
        api.add_routes(streaming.routes())
        alerting = Alerting(
            self,
            "Alerting",
            factory=functions.factory,
            events_table=tables.events,
            control_table=tables.control,
            router=streaming.router,  # sends each tenant's alert work
            deliveries=streaming.deliveries,  # a firing's deliveries go through the deliverer
            sender=export_storage.sender,  # a firing's email
        )
        api.add_routes(alerting.routes())
        reporting = Reporting(
            self,
            "Reporting",
            factory=functions.factory,
            events_table=tables.events,
            control_table=tables.control,
            router=streaming.router,  # announces each tenant's hours
        )
        api.add_routes(reporting.routes())
        api.refuse_other_methods()  # after every route: 405 with Allow for the methods they lack
        EdgeGuard(self, "EdgeGuard", stage_arn=api.rest_api.deployment_stage.stage_arn)
        # CloudFront: the console's files and, on the same origin, /v1/* to the stage (no CORS needed).
        console = ConsoleSite(self, "Console", rest_api=api.rest_api)
        # links in firing emails: no cycle, the evaluator is behind no route (the distribution needs the API)
        alerting.set_console_url(console.url)
        every_function = {
            "Authorizer": functions.authorizer,
            "Ingest": functions.ingest,
            "Query": functions.query,
            "Admin": functions.admin,
            "Docs": functions.docs,
            "Exports": exports_api.function,
            "ExportPlan": workflow.plan,
            "ExportSlice": workflow.slice,
            "ExportAssemble": workflow.assemble,
            "ExportNotify": workflow.notify,
            "ExportFail": workflow.fail,
            "ExportWatchdog": workflow.watchdog,
            "ExportFire": schedules.fire,
            "StreamRouter": streaming.router,
            "Deliverer": streaming.deliverer,
            "Destinations": streaming.destinations,
            "Alerts": alerting.alerts,
            "AlertEvaluator": alerting.evaluator,
            "Reports": reporting.reports,
            "RollupWorker": reporting.worker,
        }
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            functions=every_function,
            api=api.rest_api,
            dead_letters=[
                *schedules.queues,
                *workflow.queues,
                *streaming.queues,
                *alerting.queues,
                *reporting.queues,
            ],
            state_machine=workflow.state_machine,
            stream_readers={"StreamRouter": streaming.router},
            work_queues={
                "Deliveries": streaming.deliveries,
                "AlertWork": alerting.work,
                "RollupWork": reporting.work,  # mostly delayed: hours waiting to be sealable
            },
        )
        CfnOutput(self, "ApiUrl", value=api.url, description="Base URL; routes start with /v1")
        CfnOutput(self, "ConsoleUrl", value=console.url, description="The web console (CloudFront)")
        CfnOutput(
            self,
            "TenantUsagePlanId",
            value=api.tenant_plan.usage_plan_id,
            description="Usage plan tenants' rate-limit keys join (activitylog tenants set-rate-limit)",
        )
        # A tenant's role for an s3 or eventbridge destination trusts these two (docs/destination-roles.md).
        for output_id, function in (
            ("DelivererRoleArn", streaming.deliverer),
            ("DestinationsRoleArn", streaming.destinations),
        ):
            assert function.role is not None  # the factory always creates one
            CfnOutput(
                self,
                output_id,
                value=function.role.role_arn,
                description=f"Role of the {function.node.id} function: a tenant's s3/eventbridge destination "
                "role must trust it, with external id activitylog:<tenant> (docs/destination-roles.md)",
            )
        self.api = api
        self.console = console
        self.functions = functions
        self.exports = workflow
        self.schedules = schedules
        self.exports_api = exports_api
        self.streaming = streaming
        self.alerting = alerting
        self.reporting = reporting
