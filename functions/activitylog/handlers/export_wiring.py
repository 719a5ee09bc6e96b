"""Wiring shared by the export functions: adapters from the logic's ports to S3, DynamoDB, SES."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from activitylog.dal import export_files
from activitylog.dal.exports import DynamoExportStore
from activitylog.dal.mail import SesMailer
from activitylog.dal.schedules import DynamoScheduleStore, EventBridgeSchedules, SchedulerTarget
from activitylog.dal.secrets import signing_key
from activitylog.handlers import stores
from activitylog.logic.export_assembly import AssemblyResult, assemble
from activitylog.logic.export_notify import Message, NotifyPorts
from activitylog.logic.export_workflow import WorkflowPorts
from activitylog.logic.query import QueryPorts
from activitylog.models.env import function_env
from activitylog.models.export_env import export_env
from activitylog.models.schedule_env import scheduler_env


@lru_cache(maxsize=1)
def store() -> DynamoExportStore:
    return DynamoExportStore(function_env().control_table)


@lru_cache(maxsize=1)
def schedule_store() -> DynamoScheduleStore:
    return DynamoScheduleStore(function_env().control_table)


@lru_cache(maxsize=1)
def schedules() -> EventBridgeSchedules:
    env = scheduler_env()
    return EventBridgeSchedules(
        SchedulerTarget(
            group=env.group,
            role_arn=env.role_arn,
            function_arn=env.target_arn,
            dead_letter_arn=env.dead_letter_arn,
        )
    )


def query_ports(tenant: str) -> QueryPorts:
    return QueryPorts(
        events=stores.events(),
        known_actions=lambda: stores.control().known_actions(tenant),
        shard_count=stores.control().get_settings(tenant).shard_count,
    )


def key() -> bytes:
    return signing_key(export_env().signing_secret)


class S3Files:
    """WorkflowFiles on the exports bucket: multipart streaming writes, chunked reads."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str, gzip: bool) -> AssemblyResult:
        sink = export_files.S3MultipartSink(self._bucket, key, content_type)
        return assemble(chunks, sink, gzip=gzip)

    def read(self, key: str) -> Iterator[bytes]:
        return export_files.stream_object(self._bucket, key)

    def delete_prefix(self, prefix: str) -> None:
        export_files.delete_prefix(self._bucket, prefix)


def workflow_ports() -> WorkflowPorts:
    return WorkflowPorts(store=store(), files=S3Files(export_env().exports_bucket), query=query_ports)


def notify_ports() -> NotifyPorts:
    env = export_env()

    mailer = SesMailer(env.sender)

    def send(message: Message) -> None:
        mailer.send(message.to, message.subject, message.text, message.html)

    return NotifyPorts(store=store(), send=send, signing_key=key, base_url=env.api_base_url)
