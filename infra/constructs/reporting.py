"""Reports (docs/reports.md): the rollup-work queue, the rollup worker and the `/v1/reports` API function.

StreamRouter (streaming.py) -> one `seal` message per (tenant, hour) it sees first, and `late`
messages for backfilled hours, on `RollupWork` -> RollupWorker (SQS event source, partial batch
responses) -> each sealable hour counted from its events (the query path) and stored as rollup
items in the control table; an hour not yet sealable is sent back to the queue with a delay. The
Reports function answers from the rollups (or from the events) and, when an answer ran out of
time, claims a job item (`RUJOB#`) and sends the hours it counted as work. A message received too
often goes to `RollupWorkDeadLetters`, which is alarmed (monitoring.py).

The router's grants for this (send to `RollupWork`, `ROLLUP_QUEUE_URL`) are given here, by the
construct that owns the queue, as alerting.py does for `AlertWork`.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constructs.api import Route
from infra.constructs.dead_letters import dead_letter_queue, work_queue
from infra.constructs.function_factory import METRICS_ENVIRONMENT, FunctionFactory, FunctionSpec
from infra.grants import EVENTS_INDEX_RESOURCE, base_table_only, table_environment
from infra.nag import acknowledge

WORKER = FunctionSpec(
    "RollupWorker",
    "rollup_worker",
    "RollupWork queue -> hourly rollups counted from the events (docs/reports.md)",
    # A message names up to 24 hours (and a seal the tenant's empty hours since its last one);
    # each hour's events are read through the query path (index pages, documents in groups of 100)
    # and counted in memory. The query path reads a few thousand to tens of thousands of
    # documents a second (docs/benchmarks.md, the export slice's throughput on the same reads), so
    # 300 s count a busy tenant's hour with room to spare; what is stored stays stored when an
    # invocation times out (a retry skips the hours already computed). 1024 MB: the CPU (Lambda
    # gives CPU in proportion to memory) parses and counts every document, and an hour's groups
    # (a count per actor, target, ip, ...) are held in memory until they are written.
    memory_size=1024,
    timeout_seconds=300,
)
REPORTS = FunctionSpec(
    "Reports",
    "reports",
    "/v1/reports/activity, /v1/reports/heatmap",
    # The events' part of an answer reads for at most 8 s (logic/reports.py REPORT_SECONDS), the
    # rollups' part in parallel Queries; below API Gateway's 29 s, like Alerts.
    memory_size=1024,
    timeout_seconds=25,
)

# AWS's advice for an SQS event source (as for Deliveries and AlertWork): six times the timeout.
ROLLUP_WORK_VISIBILITY = Duration.seconds(6 * WORKER.timeout_seconds)
# Work that is not yet due is sent back as a new message (its receive count starts again), so the
# receives counted here are failures only: a busy table, a timed-out invocation. Computing an hour
# again writes the same counts, so retrying is safe; a message that fails this often is kept.
ROLLUP_WORK_MAX_RECEIVES = 10
# Records of one invocation are processed one after the other; a timeout keeps what was stored.
ROLLUP_WORK_BATCH = 10
# Workers at once, at most: rollup work is background work (no answer waits on it: a report counts
# from events meanwhile), and each worker reads the events table hard; a burst (many tenants'
# hours sealing at once, a report's 400 messages of filtered hours) waits in the queue instead of
# taking the account's concurrency and the table's throughput from the API.
ROLLUP_CONCURRENCY = 10


class Reporting(Construct):
    """Creates and configures the report functions; their construct paths stay `Functions/<id>`
    (the factory's scope), like every other function's."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        events_table: dynamodb.ITable,
        control_table: dynamodb.ITable,
        router: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        control_base = base_table_only(self, "ControlTableBase", control_table)

        self.dead_letters = dead_letter_queue(
            self,
            "RollupWorkDeadLetters",
            holds=f"rollup-work messages received {ROLLUP_WORK_MAX_RECEIVES} times without being deleted "
            "(RollupWork queue); redriving them is safe",
        )
        self.queues = [self.dead_letters]
        self.work = work_queue(
            self,
            "RollupWork",
            visibility=ROLLUP_WORK_VISIBILITY,
            dead_letters=self.dead_letters,
            max_receives=ROLLUP_WORK_MAX_RECEIVES,
        )
        queue_url = {"ROLLUP_QUEUE_URL": self.work.queue_url}

        # The router announces each (tenant, hour) it sees first, and late events' hours (logic/rollups.py).
        router.add_environment("ROLLUP_QUEUE_URL", self.work.queue_url)
        self.work.grant_send_messages(router)

        tables = table_environment(events=events_table, control=control_table)
        self.worker = factory.create(WORKER, environment={**tables, **queue_url, **METRICS_ENVIRONMENT})
        events_table.grant_read_data(self.worker)  # an hour's events through the query path (the GSIs)
        # rollup items (conditional PutItem), the sealed-through mark (UpdateItem), settings and the
        # catalogue's known actions read; keys only, nothing deleted
        control_base.grant_read_data(self.worker)
        control_base.grant(self.worker, "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.work.grant_send_messages(self.worker)  # work not yet due goes back with a delay
        # consume (receive, delete, change visibility) is the source's grant
        self.worker.add_event_source(
            sources.SqsEventSource(
                self.work,
                batch_size=ROLLUP_WORK_BATCH,
                report_batch_item_failures=True,
                max_concurrency=ROLLUP_CONCURRENCY,
            )
        )

        self.reports = factory.create(REPORTS, environment={**tables, **queue_url})
        events_table.grant_read_data(self.reports)  # pieces counted from events (the query path)
        control_base.grant_read_data(self.reports)  # rollups, settings, the catalogue's known actions
        control_base.grant(self.reports, "dynamodb:PutItem")  # a background job's claim (RUJOB#)
        self.work.grant_send_messages(self.reports)  # the hours an answer ran out of time on

        for function, why in (
            (self.worker, "the rollup worker counts an hour's events"),
            (self.reports, "a report counts the pieces it cannot answer from rollups"),
        ):
            acknowledge(
                function.role or function,
                rule=f"AwsSolutions-IAM5[{EVENTS_INDEX_RESOURCE}]",
                reason=f"{why} through the query path, i.e. the events table's four GSIs; read-only "
                "actions on <events table>/index/* cover exactly those.",
            )

    def routes(self) -> list[Route]:
        f = self.reports
        return [
            Route(path="/v1/reports/activity", method="GET", function=f),
            Route(path="/v1/reports/heatmap", method="GET", function=f),
        ]
