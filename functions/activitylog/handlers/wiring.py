"""The composition root: the one module that knows both the logic's ports and the adapters.

A `Container` is built from a function's environment; it creates each adapter (and its boto3 client)
on first use and keeps it for the container's life, which is the Lambda container's. Each use case
gets its ports from one factory here (`query_ports`, `ingest_ports`, `export_ports`, ...). Handler
modules validate their function's environment model when they load (`require`) and ask
`container()` for what they need on each request; tests, bench and local mode put in their own
container with `use()` (for example one whose adapters are fakes) and start again with `reset()`.

Adapters' modules are imported on first use, so a function loads only what it uses (the authorizer
reads API keys and skips the events, exports and settings code at cold start).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar

from activitylog.logic.cache import TtlCache
from activitylog.models.env import (
    AlertQueueEnv,
    BucketEnv,
    ConsoleEnv,
    ControlEnv,
    DeliveryQueueEnv,
    EventsEnv,
    IdempotencyEnv,
    LinksEnv,
    RollupQueueEnv,
    SchedulerEnv,
    SenderEnv,
    StateMachineEnv,
    WebhookEnv,
    parse_env,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from activitylog.dal.alerts import AlertTable
    from activitylog.dal.api_keys import ApiKeyTable
    from activitylog.dal.control import ControlTable
    from activitylog.dal.control_base import ControlBase
    from activitylog.dal.delivery_queue import SqsDeliveryQueue
    from activitylog.dal.destination_targets import AssumedRoleTargets
    from activitylog.dal.destinations import DestinationTable
    from activitylog.dal.events import DynamoEventStore
    from activitylog.dal.export_files import ExportFiles
    from activitylog.dal.exports import DynamoExportStore
    from activitylog.dal.mail import SesMailer
    from activitylog.dal.rollups import RollupTable
    from activitylog.dal.schedules import DynamoScheduleStore, EventBridgeSchedules
    from activitylog.dal.secrets import SigningKey
    from activitylog.dal.viewer_tokens import ViewerTokenTable
    from activitylog.dal.webhook_client import WebhookClient
    from activitylog.dal.workflow import StepFunctionsWorkflow
    from activitylog.logic.alert_live import EvaluatorPorts
    from activitylog.logic.alerts import AlertPorts
    from activitylog.logic.catalogue import CatalogueMemory, CataloguePorts
    from activitylog.logic.deliveries import DelivererPorts, DisabledNotice
    from activitylog.logic.destination_send import SendPorts
    from activitylog.logic.destinations import DestinationPorts
    from activitylog.logic.export_assembly import AssemblyResult
    from activitylog.logic.export_notify import Message, NotifyPorts
    from activitylog.logic.export_workflow import WorkflowPorts
    from activitylog.logic.exports import ExportPorts
    from activitylog.logic.ingest import IngestPorts
    from activitylog.logic.query import QueryPorts
    from activitylog.logic.quota import QuotaWarning
    from activitylog.logic.reports import ReportPorts
    from activitylog.logic.rollups import RollupPorts
    from activitylog.logic.schedules import FirePorts, SchedulePorts
    from activitylog.logic.stream_router import RouterPorts
    from activitylog.models.alerts import Alert, Firing
    from activitylog.models.env import Env
    from activitylog.models.settings import TenantSettings

    E = TypeVar("E", bound=Env)
    A = TypeVar("A", bound=ControlBase)

SETTINGS_CACHE_SECONDS = 60  # a settings change reaches ingestion and queries within this time (docs)
KEY_CACHE_SECONDS = 300  # a rotated download signing secret reaches warm containers within this time (docs)


@dataclass
class Container:
    """What one function (or, in local mode, one process of functions) is wired with."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)  # has secrets
    clients: dict[str, Any] = field(default_factory=dict, repr=False)  # boto3 clients by service (or given)
    _envs: dict[type, Any] = field(default_factory=dict, repr=False)

    # --- configuration and clients ---------------------------------------------------------------
    def env(self, model: type[E]) -> E:
        """The environment as `model` sees it, validated once per container. A part (`EventsEnv`)
        is read from a function's model validated already (`IngestEnv` is an `EventsEnv`)."""
        if model not in self._envs:
            known = next((e for e in self._envs.values() if isinstance(e, model)), None)
            self._envs[model] = known if known is not None else parse_env(model, self.environ)
        found: E = self._envs[model]
        return found

    def client(self, service: str, *, sigv4: bool = False) -> Any:
        """The container's client of `service` (`sigv4`: the S3 client that presigns downloads)."""
        name = f"{service}-sigv4" if sigv4 else service
        if name not in self.clients:
            from activitylog.dal.clients import SIGV4, new_client

            self.clients[name] = new_client(service, SIGV4 if sigv4 else None)
        return self.clients[name]

    def override(self, **adapters: object) -> Container:
        """Use these objects instead of building the adapters of those names (tests, bench)."""
        for name, value in adapters.items():
            if not isinstance(getattr(type(self), name, None), cached_property):
                raise AttributeError(f"Container has no adapter {name!r}")
            self.__dict__[name] = value
        return self

    # --- adapters (created on first use) ---------------------------------------------------------
    def _on_control_table(self, adapter: type[A]) -> A:
        """One of the control table's adapters (each a view of its items), on the shared client."""
        return adapter(self.env(ControlEnv).control_table, self.client("dynamodb"))

    @cached_property
    def events(self) -> DynamoEventStore:
        from activitylog.dal.events import DynamoEventStore

        return DynamoEventStore(self.env(EventsEnv).events_table, self.client("dynamodb"))

    @cached_property
    def control(self) -> ControlTable:
        from activitylog.dal.control import ControlTable

        return self._on_control_table(ControlTable)

    @cached_property
    def api_keys(self) -> ApiKeyTable:
        """The control table's API keys only (what the authorizer needs)."""
        from activitylog.dal.api_keys import ApiKeyTable

        return self._on_control_table(ApiKeyTable)

    @cached_property
    def viewer_tokens(self) -> ViewerTokenTable:
        """The control table's viewer tokens (the authorizer resolves them, Admin mints them)."""
        from activitylog.dal.viewer_tokens import ViewerTokenTable

        return self._on_control_table(ViewerTokenTable)

    @cached_property
    def export_store(self) -> DynamoExportStore:
        from activitylog.dal.exports import DynamoExportStore

        return self._on_control_table(DynamoExportStore)

    @cached_property
    def schedule_store(self) -> DynamoScheduleStore:
        from activitylog.dal.schedules import DynamoScheduleStore

        return self._on_control_table(DynamoScheduleStore)

    @cached_property
    def scheduler(self) -> EventBridgeSchedules:
        from activitylog.dal.schedules import EventBridgeSchedules, SchedulerTarget

        env = self.env(SchedulerEnv)
        target = SchedulerTarget(
            group=env.schedule_group,
            role_arn=env.scheduler_role_arn,
            function_arn=env.schedule_target_arn,
            dead_letter_arn=env.schedule_dlq_arn,
        )
        return EventBridgeSchedules(target, self.client("scheduler"))

    @cached_property
    def files(self) -> ExportFiles:
        from activitylog.dal.export_files import ExportFiles

        signer = partial(self.client, "s3", sigv4=True)  # made only by the functions that presign
        return ExportFiles(self.env(BucketEnv).exports_bucket, self.client("s3"), signer=signer)

    @cached_property
    def workflow(self) -> StepFunctionsWorkflow:
        from activitylog.dal.workflow import StepFunctionsWorkflow

        return StepFunctionsWorkflow(self.env(StateMachineEnv).state_machine, self.client("stepfunctions"))

    @cached_property
    def mailer(self) -> SesMailer:
        from activitylog.dal.mail import SesMailer

        return SesMailer(self.env(SenderEnv).sender_email, self.client("sesv2"))

    @cached_property
    def signing_key(self) -> SigningKey:
        from activitylog.dal.secrets import SigningKey

        return SigningKey(self.env(LinksEnv).signing_secret, self.client("secretsmanager"))

    @cached_property
    def idempotency(self) -> DynamoDBPersistenceLayer:
        """Powertools' idempotency records (Idempotency-Key of POST /v1/events)."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        # Its own client, with botocore's defaults for DynamoDB (10 attempts): a throttled
        # idempotency table should cost retries, not requests.
        return DynamoDBPersistenceLayer(table_name=self.env(IdempotencyEnv).idempotency_table)

    @cached_property
    def destinations(self) -> DestinationTable:
        """Streaming destinations, their ledgers and replays (control table)."""
        from activitylog.dal.destinations import DestinationTable

        return self._on_control_table(DestinationTable)

    @cached_property
    def delivery_queue(self) -> SqsDeliveryQueue:
        from activitylog.dal.delivery_queue import SqsDeliveryQueue

        return SqsDeliveryQueue(self.env(DeliveryQueueEnv).delivery_queue_url, self.client("sqs"))

    @cached_property
    def alerts(self) -> AlertTable:
        """Alerts, their evaluation states and firings (control table)."""
        from activitylog.dal.alerts import AlertTable

        return self._on_control_table(AlertTable)

    @cached_property
    def alert_queue(self) -> SqsDeliveryQueue:
        """The alert-work queue: the router's messages to the evaluator (the same adapter)."""
        from activitylog.dal.delivery_queue import SqsDeliveryQueue

        return SqsDeliveryQueue(self.env(AlertQueueEnv).alert_queue_url, self.client("sqs"))

    @cached_property
    def rollups(self) -> RollupTable:
        """Reports' hourly rollups (control table)."""
        from activitylog.dal.rollups import RollupTable

        return self._on_control_table(RollupTable)

    @cached_property
    def rollup_queue(self) -> SqsDeliveryQueue:
        """The rollup-work queue (the same adapter as deliveries')."""
        from activitylog.dal.delivery_queue import SqsDeliveryQueue

        return SqsDeliveryQueue(self.env(RollupQueueEnv).rollup_queue_url, self.client("sqs"))

    @cached_property
    def rollup_memory(self) -> dict[tuple[str, Any], None]:
        """The (tenant, hour)s this container's router has announced to the rollup worker."""
        return {}

    @cached_property
    def webhooks(self) -> WebhookClient:
        from activitylog.dal.webhook_client import WebhookClient

        return WebhookClient(local_mode=self.env(WebhookEnv).webhook_allow_loopback)

    @cached_property
    def role_targets(self) -> AssumedRoleTargets:
        """S3 and EventBridge destinations, as the tenants' roles (credentials kept per role)."""
        from activitylog.dal.destination_targets import AssumedRoleTargets

        return AssumedRoleTargets(sts=lambda: self.client("sts"))

    # --- per-container state -------------------------------------------------------------------
    @cached_property
    def settings_cache(self) -> TtlCache[TenantSettings]:
        return TtlCache(ttl=SETTINGS_CACHE_SECONDS)

    @cached_property
    def key_cache(self) -> TtlCache[bytes | None]:
        """The signing secret's versions by stage (AWSCURRENT, AWSPREVIOUS), KEY_CACHE_SECONDS each."""
        return TtlCache(ttl=KEY_CACHE_SECONDS)

    def current_key(self) -> bytes:
        """The key that signs new download tokens (the secret's AWSCURRENT version)."""
        from activitylog.dal.secrets import CURRENT

        key = self.key_cache.get(CURRENT, lambda: self.signing_key.read(CURRENT))
        assert key is not None  # the current version exists, or reading it raised
        return key

    def verification_keys(self) -> Iterator[bytes]:
        """The keys a download token may be signed with: current, then previous (read only if asked)."""
        from activitylog.dal.secrets import PREVIOUS

        yield self.current_key()
        previous = self.key_cache.get(PREVIOUS, lambda: self.signing_key.read(PREVIOUS))
        if previous is not None:
            yield previous

    @cached_property
    def known_actions(self) -> dict[str, set[str]]:
        """Per tenant, the actions this container has seen in the catalogue (no write per event)."""
        return {}

    @cached_property
    def catalogue_memory(self) -> CatalogueMemory:
        """The catalogue entries this container has recorded or read (no write per event)."""
        from activitylog.logic.catalogue import CatalogueMemory

        return CatalogueMemory()

    def settings(self, tenant: str) -> TenantSettings:
        """The tenant's settings and limits, at most SETTINGS_CACHE_SECONDS old."""
        return self.settings_cache.get(tenant, lambda: self.control.get_settings(tenant))

    # --- one factory per use case's ports ----------------------------------------------------------
    def query_ports(self, tenant: str, *, fresh: bool = False) -> QueryPorts:
        """`fresh`: the tenant's write shards as they are now, not as cached (an export must read
        every shard ingestion may be writing to)."""
        from activitylog.logic.query import QueryPorts

        settings = self.control.get_settings(tenant) if fresh else self.settings(tenant)
        return QueryPorts(
            events=self.events,
            known_actions=lambda: self.control.known_actions(tenant),
            shard_count=settings.shard_count,
        )

    def ingest_ports(self, tenant: str) -> IngestPorts:
        from activitylog.logic.ingest import IngestPorts

        return IngestPorts(
            events=self.events,
            catalogue=self.control,
            known_actions=self.known_actions.setdefault(tenant, set()),
            usage=self.control,
            warn=self._warn,
            entries=self.control,  # the catalogue's items (dal/catalogue.py)
            entry_memory=self.catalogue_memory,
        )

    def catalogue_ports(self, tenant: str) -> CataloguePorts:
        """`GET /v1/actions`, `/v1/actors`, `/v1/targets` (restricted keys read their own events)."""
        from activitylog.logic.catalogue import CataloguePorts

        return CataloguePorts(store=self.control, query=lambda: self.query_ports(tenant))

    def _warn(self, warning: QuotaWarning) -> None:
        """Send a quota warning; never fails the request (its events are stored, or refused already)."""
        from activitylog.handlers import metrics
        from activitylog.handlers.log import logger
        from activitylog.logic import clock, quota
        from activitylog.models.errors import MailNotSentError

        where = {"tenant": warning.tenant, "month": warning.month, "threshold": warning.threshold}
        try:
            sent = quota.send_warning(
                warning, now=clock.now(), usage=self.control, settings=self.control, send=self.mailer.send
            )
        except (
            MailNotSentError
        ) as err:  # the lease is kept as a backoff: a request after RETRY_SECONDS tries again
            metrics.add(metrics.EMAILS_FAILED)
            logger.warning("quota warning not sent", extra={**where, "reason": err.message})
            return
        except Exception:
            logger.exception("quota warning not sent", extra=where)
            return
        if sent:
            metrics.add(metrics.EMAILS_SENT)
        if sent is not None:
            logger.info("quota warning", extra={**where, "recipients": sent})

    def export_ports(self) -> ExportPorts:
        from activitylog.logic import exports
        from activitylog.logic.schedules import remove_schedule

        # Adapters (and their clients) are made when a use case first needs them, not per ports.
        return exports.ExportPorts(
            store=self.export_store,
            start_workflow=lambda inp: self.workflow.start(inp),
            presign=lambda key, name: self.files.presigned_get(key, exports.PRESIGN_SECONDS, name),
            delete_files=lambda prefix: self.files.delete_prefix(prefix),
            verification_keys=self.verification_keys,
            base_url=self.env(LinksEnv).api_base_url,
            remove_schedule=lambda tenant, export_id: remove_schedule(
                tenant, export_id, store=self.schedule_store, scheduler=self.scheduler
            ),
        )

    def schedule_ports(self) -> SchedulePorts:
        from activitylog.logic.schedules import SchedulePorts

        return SchedulePorts(exports=self.export_ports(), store=self.schedule_store, scheduler=self.scheduler)

    def fire_ports(self) -> FirePorts:
        from activitylog.logic.schedules import FirePorts

        return FirePorts(
            exports=self.export_store,
            schedules=self.schedule_store,
            start_workflow=lambda inp: self.workflow.start(inp),
        )

    def workflow_ports(self) -> WorkflowPorts:
        from activitylog.logic.export_workflow import WorkflowPorts

        return WorkflowPorts(
            store=self.export_store,
            files=_AssembledFiles(lambda: self.files),
            query=lambda tenant: self.query_ports(tenant, fresh=True),  # as the old wiring read them
        )

    def notify_ports(self) -> NotifyPorts:
        from activitylog.logic.export_notify import NotifyPorts

        def send(message: Message) -> None:
            self.mailer.send(message.to, message.subject, message.text, message.html)

        def claim_mail(tenant: str, day: str) -> bool:
            limit = self.control.get_limits(tenant).daily_mail_limit
            return self.control.claim_mail(tenant, day, limit, expires=_mail_counter_expiry(day))

        return NotifyPorts(
            store=self.export_store,
            send=send,
            signing_key=self.current_key,
            base_url=self.env(LinksEnv).api_base_url,
            claim_mail=claim_mail,
        )

    # --- streaming (docs/streaming.md) --------------------------------------------------------------
    def send_ports(self) -> SendPorts:
        from activitylog.logic.destination_send import SendPorts

        return SendPorts(webhooks=self.webhooks, targets=self.role_targets)

    def router_ports(self) -> RouterPorts:
        from activitylog.logic import alert_live, rollups
        from activitylog.logic.stream_router import RouterPorts

        alerts = alert_live.SelectPorts(alerts=self.alerts, queue=self.alert_queue)
        marks = rollups.MarkPorts(queue=self.rollup_queue, store=self.rollups, memory=self.rollup_memory)
        return RouterPorts(
            store=self.destinations,
            queue=self.delivery_queue,
            consumers=(  # each tenant's part of a batch
                partial(alert_live.select, ports=alerts),
                partial(rollups.mark, ports=marks),
            ),
        )

    def destination_ports(self) -> DestinationPorts:
        from activitylog.logic.destinations import DestinationPorts

        return DestinationPorts(store=self.destinations, queue=self.delivery_queue, send=self.send_ports())

    def deliverer_ports(self) -> DelivererPorts:
        from activitylog.logic.deliveries import DelivererPorts

        return DelivererPorts(
            store=self.destinations,
            queue=self.delivery_queue,
            events=self.events,
            send=self.send_ports(),
            query=lambda tenant: self.query_ports(tenant, fresh=True),  # every shard ingestion writes
            disabled=self._announce_disabled,
        )

    # --- reports (docs/reports.md) -----------------------------------------------------------------
    def report_ports(self, tenant: str) -> ReportPorts:
        from activitylog.logic.reports import ReportPorts

        return ReportPorts(
            query=self.query_ports(tenant),
            rollups=self.rollups,
            queue=self.rollup_queue,
            settings=self.settings(tenant),
        )

    def rollup_ports(self) -> RollupPorts:
        from activitylog.logic.rollups import RollupPorts

        return RollupPorts(
            store=self.rollups,
            queue=self.rollup_queue,
            query=lambda tenant: self.query_ports(tenant, fresh=True),  # every shard ingestion writes
            settings=self.control.get_settings,
        )

    # --- alerts (docs/alerts.md) ------------------------------------------------------------------
    def alert_ports(self) -> AlertPorts:
        from activitylog.logic.alerts import AlertPorts

        return AlertPorts(
            store=self.alerts,
            destinations=self.destinations,
            query=lambda tenant: self.query_ports(tenant, fresh=True),  # every shard ingestion writes
        )

    def evaluator_ports(self) -> EvaluatorPorts:
        from activitylog.logic.alert_live import EvaluatorPorts

        return EvaluatorPorts(
            alerts=self.alerts,
            events=self.events,
            destinations=self.destinations,
            deliveries=self.delivery_queue,
            mail=self._mail_firing,
            record=self._record_firing,
            console_url=self.env(ConsoleEnv).console_url,
        )

    def _mail_firing(self, tenant: str, to: list[str], subject: str, text: str, html: str) -> bool:
        """A firing's email, within the tenant's daily mail cap (as export notices): sent or not.
        A refusal by the mail service raises (the follow-up stays pending and is retried)."""
        from activitylog.handlers import metrics
        from activitylog.handlers.log import logger
        from activitylog.logic import clock

        day = clock.now().strftime("%Y-%m-%d")
        limit = self.control.get_limits(tenant).daily_mail_limit
        if not self.control.claim_mail(tenant, day, limit, expires=_mail_counter_expiry(day)):
            metrics.add(metrics.EMAILS_SKIPPED)
            logger.warning("alert email not sent: the tenant's daily mail cap", extra={"tenant": tenant})
            return False
        try:
            self.mailer.send(to, subject, text, html)
        except Exception:
            metrics.add(metrics.EMAILS_FAILED)
            raise
        metrics.add(metrics.EMAILS_SENT)
        return True

    def _record_firing(self, tenant: str, alert: Alert, firing: Firing) -> None:
        """The firing as an `activitylog.alert.fired` event of the tenant, its id the firing's."""
        from activitylog.logic import audit, clock
        from activitylog.models.alerts import FIRED_ACTION
        from activitylog.models.text import format_time

        audit.record(
            self.events,
            self.control,
            self.control.get_settings(tenant),
            tenant=tenant,
            action=FIRED_ACTION,
            actor={"type": "alert", "id": alert.id},
            now=clock.now(),
            targets=[{"type": "alert", "id": alert.id, "name": alert.name}],
            metadata={
                "group": firing.group,
                "count": firing.count,
                "window_start": format_time(firing.window_start),
                "window_end": format_time(firing.window_end),
                "fired_at": format_time(firing.fired_at),
            },
            event_id=firing.id,
        )

    def _announce_disabled(self, notice: DisabledNotice) -> None:
        """A destination was disabled: email the tenant's notification addresses, record the event."""
        from activitylog.handlers import metrics
        from activitylog.handlers.log import logger
        from activitylog.logic import audit, clock
        from activitylog.logic.deliveries import announce_disabled

        settings = self.control.get_settings(notice.tenant)

        def record(action: str, details: dict[str, Any]) -> str:
            return audit.record(
                self.events, self.control, settings, tenant=notice.tenant, action=action,
                actor=audit.SERVICE, now=clock.now(), **details,
            )  # fmt: skip

        not_sent = announce_disabled(
            notice,
            recipients=list(settings.logging.notification_emails),
            mail=lambda to, subject, text, html: self.mailer.send(to, subject, text, html),
            record=record,
        )
        where = {"tenant": notice.tenant, "destination": notice.destination.settings.id}
        if not_sent is not None:
            metrics.add(metrics.EMAILS_FAILED)
            reason = {**where, "reason": str(not_sent)}
            logger.warning("destination disabled; the notice was not emailed", extra=reason)
        else:
            logger.info("destination disabled", extra=where)


def _mail_counter_expiry(day: str) -> int:
    """When a day's mail counter may go (the control table's TTL): a few days after the day."""
    from datetime import UTC, datetime, timedelta

    from activitylog.dal.usage import MAIL_COUNTER_DAYS

    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    return int((start + timedelta(days=MAIL_COUNTER_DAYS)).timestamp())


class _AssembledFiles:
    """The workflow's files: writes go through the streaming assembly into a multipart upload."""

    def __init__(self, files: Callable[[], ExportFiles]) -> None:
        self._files = files  # made on first use: the plan step never touches the bucket

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str, gzip: bool) -> AssemblyResult:
        from activitylog.logic.export_assembly import assemble

        return assemble(chunks, self._files().sink(key, content_type), gzip=gzip)

    def read(self, key: str) -> Iterator[bytes]:
        return self._files().read(key)

    def delete_prefix(self, prefix: str) -> None:
        self._files().delete_prefix(prefix)


_current: Container | None = None


def container() -> Container:
    """This process's container, created from the environment on first use."""
    global _current
    if _current is None:
        _current = Container()
    return _current


def use(replacement: Container | None) -> Container | None:
    """Tests, bench and local mode: every handler of this process uses `replacement` from now on
    (None: a new container from the environment on next use). Returns the container it replaces,
    for the caller to put back when done."""
    global _current
    previous, _current = _current, replacement
    return previous


def reset() -> None:
    """Forget the container (its adapters, clients and caches): the next use reads the environment again."""
    use(None)
    from activitylog.dal.clients import reset_clients  # the fallback clients of adapters made elsewhere

    reset_clients()


def require(model: type[E]) -> E:
    """Validate the function's environment now (a handler module calls this when it loads)."""
    return container().env(model)
